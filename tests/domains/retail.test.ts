// Retail tools on the real τ² retail DB: results, error texts and quirks (notes §2.2, §8).
// Expected floats were computed with CPython (e.g. the unrounded -382.03000000000037 diff).
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../domains/core/environment.ts';
import { dumps } from '../../domains/pycompat/pyjson.ts';
import { getDomain } from '../../domains/registry.ts';
import type { RetailDbData } from '../../domains/retail/models.ts';

import '../helpers/tau2.ts';

let env: Environment;
const fresh = () => (env = getDomain('retail').createEnvironment());
const db = () => env.tools!.db.data as RetailDbData;
const call = (name: string, args: Record<string, unknown>) => env.getResponse({ id: 'c', name, arguments: args });
const out = (name: string, args: Record<string, unknown>) => {
  const r = call(name, args);
  if (r.error) throw new Error(r.content);
  return JSON.parse(r.content); // plain numbers; float-ness is checked with dumps() on the DB
};
const err = (name: string, args: Record<string, unknown>) => {
  const r = call(name, args);
  expect(r.error).toBe(true);
  return r.content;
};

const PENDING = '#W6779827'; // ethan_lopez_6291, paid 4079.45 by gift_card_7219486 (balance 49.0)
const DELIVERED = '#W3113816'; // emma_santos_9753, paid by credit_card_5869505; gift_card_6023546 balance 36.0

describe('retail tool list', () => {
  it('offers 16 tools in reference order; multi-line docstrings split at the first line', () => {
    fresh();
    const s = env.agentToolSchemas();
    expect(s.map((x) => x.function.name)).toEqual([
      'calculate', 'cancel_pending_order', 'exchange_delivered_order_items', 'find_user_id_by_name_zip', 'find_user_id_by_email',
      'get_order_details', 'get_product_details', 'get_item_details', 'get_user_details', 'list_all_product_types',
      'modify_pending_order_address', 'modify_pending_order_items', 'modify_pending_order_payment', 'modify_user_address',
      'return_delivered_order_items', 'transfer_to_human_agents',
    ]);
    expect(s[1].function.description.startsWith('Cancel a pending order. If the order is already processed or delivered,\n\nit cannot be cancelled.')).toBe(true);
    expect((s[2].function.parameters as any).properties.item_ids).toMatchObject({ type: 'array', items: { type: 'string' } });
  });
});

describe('cancel / modify pending orders', () => {
  it('cancel refunds each payment and credits a gift card immediately (rounded)', () => {
    fresh();
    const o = out('cancel_pending_order', { order_id: PENDING, reason: 'no longer needed' });
    expect(o.status).toBe('cancelled');
    expect(o.cancel_reason).toBe('no longer needed');
    expect(o.payment_history.at(-1)).toEqual({ transaction_type: 'refund', amount: 4079.45, payment_method_id: 'gift_card_7219486' });
    expect(dumps(db().users.ethan_lopez_6291.payment_methods.gift_card_7219486.balance)).toBe('4128.45');
    expect(err('cancel_pending_order', { order_id: PENDING, reason: 'no longer needed' })).toBe('Error: Non-pending order cannot be cancelled');
    fresh();
    expect(err('cancel_pending_order', { order_id: PENDING, reason: 'changed my mind' })).toBe('Error: Invalid reason');
    expect(err('cancel_pending_order', { order_id: 'W6779827', reason: 'ordered by mistake' })).toBe('Error: Order not found');
    expect(err('cancel_pending_order', { order_id: '#W2611340', reason: 'ordered by mistake' })).toBe('Error: Non-pending order cannot be cancelled');
  });

  it('modify items: unrounded diff, price/options of the LAST variant for every item, status "pending (item modified)"', () => {
    fresh();
    const o = out('modify_pending_order_items', {
      order_id: PENDING,
      item_ids: ['7896397433', '3379843752'],
      new_item_ids: ['2444431651', '3709608322'],
      payment_method_id: 'credit_card_9789590',
    });
    expect(o.status).toBe('pending (item modified)');
    const stored = db().orders[PENDING];
    expect(dumps(stored.payment_history.at(-1))).toBe('{"transaction_type": "refund", "amount": 382.03000000000037, "payment_method_id": "credit_card_9789590"}');
    expect(stored.items.slice(0, 2).map((i) => [i.item_id, dumps(i.price)])).toEqual([
      ['2444431651', '2744.7'], // the dumbbell set gets the espresso machine's price (quirk)
      ['3709608322', '2744.7'],
    ]);
    expect(stored.items[0].options).toEqual(stored.items[1].options);
    // substring-"pending" tools still work; exact-"pending" tools refuse
    expect(out('modify_pending_order_address', { order_id: PENDING, address1: 'a', address2: '', city: 'c', state: 's', country: 'US', zip: '1' }).address.zip).toBe('1');
    expect(err('cancel_pending_order', { order_id: PENDING, reason: 'no longer needed' })).toBe('Error: Non-pending order cannot be cancelled');
    expect(err('modify_pending_order_payment', { order_id: PENDING, payment_method_id: 'gift_card_7219486' })).toBe(
      'Error: There should be exactly one payment for a pending order',
    );
  });

  it('modify items with a gift card debits it by the raw diff, then rounds', () => {
    fresh();
    out('modify_pending_order_items', {
      order_id: PENDING,
      item_ids: ['7896397433', '3379843752'],
      new_item_ids: ['2444431651', '3709608322'],
      payment_method_id: 'gift_card_7219486',
    });
    expect(dumps(db().users.ethan_lopez_6291.payment_methods.gift_card_7219486.balance)).toBe('431.03');
  });

  it('modify items errors', () => {
    fresh();
    const m = (item_ids: unknown, new_item_ids: unknown, pm = 'credit_card_9789590') =>
      err('modify_pending_order_items', { order_id: PENDING, item_ids, new_item_ids, payment_method_id: pm });
    expect(m(['7896397433', '7896397433'], ['2444431651', '2444431651'])).toBe('Error: 7896397433 not found');
    expect(m(['7896397433'], [])).toBe('Error: The number of items to be exchanged should match');
    expect(m(['7896397433'], ['7896397433'])).toBe('Error: The new item id should be different from the old item id');
    expect(m(['7896397433'], ['8140269513'])).toBe('Error: New item 8140269513 not found or available');
    expect(m(['7896397433'], ['3709608322'])).toBe('Error: Variant not found');
    expect(m(['7896397433'], ['2444431651'], 'gift_card_7219486')).toBe('Error: Insufficient gift card balance to pay for the new item');
    expect(m(['7896397433'], ['2444431651'], 'paypal_1')).toBe('Error: Payment method not found');
  });

  it('modify payment appends payment + refund and moves gift-card money both ways', () => {
    fresh();
    expect(err('modify_pending_order_payment', { order_id: PENDING, payment_method_id: 'gift_card_7219486' })).toBe(
      'Error: The new payment method should be different from the current one',
    );
    const o = out('modify_pending_order_payment', { order_id: PENDING, payment_method_id: 'credit_card_9789590' });
    expect(o.payment_history.slice(1)).toEqual([
      { transaction_type: 'payment', amount: 4079.45, payment_method_id: 'credit_card_9789590' },
      { transaction_type: 'refund', amount: 4079.45, payment_method_id: 'gift_card_7219486' },
    ]);
    expect(dumps(db().users.ethan_lopez_6291.payment_methods.gift_card_7219486.balance)).toBe('4128.45');
  });
});

describe('delivered orders', () => {
  it('exchange records sorted ids and a rounded diff, moves no money', () => {
    fresh();
    const o = out('exchange_delivered_order_items', {
      order_id: DELIVERED,
      item_ids: ['4422467033', '2206116040'],
      new_item_ids: ['2444431651', '3358616356'],
      payment_method_id: 'credit_card_5869505',
    });
    expect(o.status).toBe('exchange requested');
    expect(o.exchange_items).toEqual(['2206116040', '4422467033']);
    expect(o.exchange_new_items).toEqual(['2444431651', '3358616356']);
    expect(dumps(o.exchange_price_difference)).toBe('38.79'); // round(51.37 - 12.58, 2)
    expect(dumps(db().users.emma_santos_9753.payment_methods.gift_card_6023546.balance)).toBe('36.0');
  });

  it('exchange errors', () => {
    fresh();
    const x = (item_ids: unknown, new_item_ids: unknown, pm = 'credit_card_5869505', order_id = DELIVERED) =>
      err('exchange_delivered_order_items', { order_id, item_ids, new_item_ids, payment_method_id: pm });
    expect(x(['2206116040'], ['3358616356'], 'credit_card_5869505', PENDING)).toBe('Error: Non-delivered order cannot be exchanged');
    expect(x(['1'], ['3358616356'])).toBe('Error: Number of 1 not found.');
    expect(x(['2206116040'], [])).toBe('Error: The number of items to be exchanged should match.');
    expect(x(['4422467033'], ['2444431651'], 'gift_card_6023546')).toBe('Error: Insufficient gift card balance to pay for the price difference');
  });

  it('return: original method or a gift card only; sorted items', () => {
    fresh();
    expect(err('return_delivered_order_items', { order_id: DELIVERED, item_ids: ['9'], payment_method_id: 'credit_card_5869505' })).toBe('Error: Some item not found');
    const o = out('return_delivered_order_items', { order_id: DELIVERED, item_ids: ['4843487907', '2206116040'], payment_method_id: 'gift_card_6023546' });
    expect(o.status).toBe('return requested');
    expect(o.return_items).toEqual(['2206116040', '4843487907']);
    expect(err('return_delivered_order_items', { order_id: DELIVERED, item_ids: [], payment_method_id: 'gift_card_6023546' })).toBe(
      'Error: Non-delivered order cannot be returned',
    );
    // a delivered order whose owner has a second non-gift-card method
    fresh();
    const [orderId, order] = Object.entries(db().orders).find(
      ([, o]) => o.status === 'delivered' && Object.values(db().users[o.user_id].payment_methods).filter((p) => p.source !== 'gift_card').length > 1,
    )!;
    const other = Object.values(db().users[order.user_id].payment_methods).find(
      (p) => p.source !== 'gift_card' && p.id !== order.payment_history[0].payment_method_id,
    )!;
    expect(err('return_delivered_order_items', { order_id: orderId, item_ids: [], payment_method_id: other.id })).toBe(
      'Error: Payment method should be the original payment method',
    );
  });
});

describe('lookups', () => {
  it('find user by name+zip (case-insensitive names, exact zip) and by email (case-insensitive)', () => {
    fresh();
    expect(call('find_user_id_by_name_zip', { first_name: 'ETHAN', last_name: 'lopez', zip: '43275' }).content).toBe('ethan_lopez_6291');
    expect(err('find_user_id_by_name_zip', { first_name: 'Ethan', last_name: 'Lopez', zip: '43276' })).toBe('Error: User not found');
    expect(call('find_user_id_by_email', { email: 'Ethan.Lopez8943@example.com' }).content).toBe('ethan_lopez_6291');
    expect(err('find_user_id_by_email', { email: 'x@example.com' })).toBe('Error: User not found');
  });

  it('list_all_product_types is sorted-key json text; item/product/user details', () => {
    fresh();
    const text = call('list_all_product_types', {}).content;
    const parsed = JSON.parse(text) as Record<string, string>;
    expect(Object.keys(parsed)).toHaveLength(50);
    expect(Object.keys(parsed)).toEqual(Object.keys(parsed).sort());
    expect(text.startsWith('{"')).toBe(true);
    expect(out('get_item_details', { item_id: '3358616356' })).toEqual({
      item_id: '3358616356',
      options: db().products['7765186836'].variants['3358616356'].options,
      available: true,
      price: 197.33,
    });
    expect(err('get_item_details', { item_id: '7765186836' })).toBe('Error: Item not found');
    expect(err('get_product_details', { product_id: '3358616356' })).toBe('Error: Product not found');
    expect(Object.keys(out('get_order_details', { order_id: PENDING })).slice(-7)).toEqual([
      'cancel_reason', 'exchange_items', 'exchange_new_items', 'exchange_payment_method_id', 'exchange_price_difference', 'return_items', 'return_payment_method_id',
    ]);
  });

  it('modify_user_address builds a UserAddress (ValidationError on a non-string)', () => {
    fresh();
    expect(out('modify_user_address', { user_id: 'ethan_lopez_6291', address1: 'a', address2: 'b', city: 'c', state: 'd', country: 'e', zip: '1' }).address).toEqual({
      address1: 'a', address2: 'b', city: 'c', country: 'e', state: 'd', zip: '1',
    });
    expect(err('modify_user_address', { user_id: 'ethan_lopez_6291', address1: 'a', address2: 'b', city: 'c', state: 'd', country: 'e', zip: 12345 })).toBe(
      'Error: 1 validation error for UserAddress\nzip\n  Input should be a valid string [type=string_type, input_value=12345, input_type=int]\n    For further information visit https://errors.pydantic.dev/2.12/v/string_type',
    );
  });
});
