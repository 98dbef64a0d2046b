/**
 * Retail agent tools (τ² `RetailTools`), in the reference's offer order. Quirks kept (notes §2.2,
 * §8): exact "pending" for cancel/modify-items but substring "pending" for address/payment
 * changes; `modify_pending_order_items` stores an unrounded diff and gives every modified item the
 * price/options of the LAST variant looked up; exchanges never move money; sorted return/exchange
 * lists; gift-card balances rounded with Python's `round(x, 2)`.
 */
import { CALCULATE, TRANSFER_TO_HUMAN_AGENTS } from '../core/common-tools.ts';
import { add, cmp, eq, sub } from '../pycompat/pyarith-ops.ts';
import { dumps, pyStr } from '../pycompat/pyjson.ts';
import { pyAbs, round2, type PyNum } from '../pycompat/pynum.ts';
import { hasKey, pyIter, pyLen } from '../pycompat/pyops.ts';
import { construct, field, pyTypeName, t } from '../core/schema.ts';
import { PyError, asModel, fail, type ToolDef, type ToolkitSpec } from '../core/tool.ts';
import {
  OrderPayment,
  UserAddress,
  type OrderPaymentRec,
  type OrderRec,
  type PaymentMethodRec,
  type ProductRec,
  type RetailDbData,
  type RetailUserRec,
  type VariantRec,
} from './models.ts';

const ORDER_ID_DESC = "The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.";
const USER_ID_DESC = "The user id, such as 'sara_doe_496'.";
const PRODUCT_ID_DESC = "The product id, such as '6086499569'. Be careful the product id is different from the item id.";
const ITEM_ID_DESC = "The item id, such as '6086499569'. Be careful the item id is different from the product id.";
const PM_DESC =
  "The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.";

function getOrder(db: RetailDbData, id: unknown): OrderRec {
  if (!hasKey(db.orders, id)) fail('Order not found');
  return db.orders[id as string];
}

function getUser(db: RetailDbData, id: unknown): RetailUserRec {
  if (!hasKey(db.users, id)) fail('User not found');
  return db.users[id as string];
}

function getProduct(db: RetailDbData, id: unknown): ProductRec {
  if (!hasKey(db.products, id)) fail('Product not found');
  return db.products[id as string];
}

function getVariant(db: RetailDbData, productId: unknown, variantId: unknown): VariantRec {
  const product = getProduct(db, productId);
  if (!hasKey(product.variants, variantId)) fail('Variant not found');
  return product.variants[variantId as string];
}

function getPaymentMethod(db: RetailDbData, userId: unknown, pmId: unknown): PaymentMethodRec {
  const user = getUser(db, userId);
  if (!hasKey(user.payment_methods, pmId)) fail('Payment method not found');
  return user.payment_methods[pmId as string];
}

const isGiftCard = (pm: PaymentMethodRec) => pm.source === 'gift_card';

/** `xs.count(x)` with Python equality. */
function count(xs: unknown[], x: unknown): number {
  return xs.filter((y) => eq(y, x)).length;
}

/** Python `sorted(xs)` for a list of strings (TypeError on mixed types). */
function pySorted(xs: unknown[]): unknown[] {
  return [...xs].sort((a, b) => (cmp('<', a, b) ? -1 : cmp('<', b, a) ? 1 : 0));
}

/** `s.lower()` on a raw argument. */
function lower(s: unknown): string {
  if (typeof s !== 'string') throw new PyError(`'${pyTypeName(s)}' object has no attribute 'lower'`, 'AttributeError');
  return s.toLowerCase();
}

const addressParams = [
  field('address1', t.str(), "The first line of the address, such as '123 Main St'."),
  field('address2', t.str(), "The second line of the address, such as 'Apt 1' or ''."),
  field('city', t.str(), "The city, such as 'San Francisco'."),
  field('state', t.str(), "The state, such as 'CA'."),
  field('country', t.str(), "The country, such as 'USA'."),
  field('zip', t.str(), "The zip code, such as '12345'."),
];

function addressFrom(a: Record<string, unknown>) {
  return construct(UserAddress, {
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    state: a.state,
    country: a.country,
    zip: a.zip,
  });
}

export const retailTools: ToolDef<RetailDbData>[] = [
  CALCULATE as ToolDef<RetailDbData>,
  {
    name: 'cancel_pending_order',
    type: 'write',
    short: 'Cancel a pending order. If the order is already processed or delivered,',
    long:
      'it cannot be cancelled. The agent needs to explain the cancellation detail\n' +
      'and ask for explicit user confirmation (yes/no) to proceed. If the user confirms,\n' +
      "the order status will be changed to 'cancelled' and the payment will be refunded.\n" +
      "The refund will be added to the user's gift card balance immediately if the payment\n" +
      'was made using a gift card, otherwise the refund would take 5-7 business days to process.\n' +
      'The function returns the order details after the cancellation.',
    params: [
      field('order_id', t.str(), ORDER_ID_DESC),
      field('reason', t.str(), "The reason for cancellation, which should be either 'no longer needed' or 'ordered by mistake'."),
    ],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (order.status !== 'pending') fail('Non-pending order cannot be cancelled');
      if (a.reason !== 'no longer needed' && a.reason !== 'ordered by mistake') fail('Invalid reason');
      const refunds: OrderPaymentRec[] = [];
      for (const p of order.payment_history) {
        refunds.push(construct<OrderPaymentRec>(OrderPayment, { transaction_type: 'refund', amount: p.amount, payment_method_id: p.payment_method_id }));
        const user = getUser(db, order.user_id);
        const pm = getPaymentMethod(db, user.user_id, p.payment_method_id);
        if (isGiftCard(pm)) pm.balance = round2(add(pm.balance, p.amount, '+=')) as never;
      }
      order.status = 'cancelled';
      order.cancel_reason = a.reason;
      order.payment_history.push(...refunds);
      return asModel(order);
    },
  },
  {
    name: 'exchange_delivered_order_items',
    type: 'write',
    short: 'Exchange items in a delivered order to new items of the same product type.',
    long:
      'For a delivered order, return or exchange can be only done once by the agent.\n' +
      'The agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.',
    params: [
      field('order_id', t.str(), ORDER_ID_DESC),
      field('item_ids', t.list(t.str()), "The item ids to be exchanged, each such as '1008292230'. There could be duplicate items in the list."),
      field(
        'new_item_ids',
        t.list(t.str()),
        "The item ids to be exchanged for, each such as '1008292230'.\nThere could be duplicate items in the list. Each new item id should match the item id\nin the same position and be of the same product.",
      ),
      field(
        'payment_method_id',
        t.str(),
        "The payment method id to pay or receive refund for the item price difference,\nsuch as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up\nfrom the user or order details.",
      ),
    ],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (order.status !== 'delivered') fail('Non-delivered order cannot be exchanged');
      const itemIds = pyIter(a.item_ids);
      const newItemIds = pyIter(a.new_item_ids);
      const all = order.items.map((i) => i.item_id);
      for (const id of itemIds) if (count(itemIds, id) > count(all, id)) fail(`Number of ${pyStr(id)} not found.`);
      if (pyLen(a.item_ids) !== pyLen(a.new_item_ids)) fail('The number of items to be exchanged should match.');
      let diff: PyNum = 0;
      for (let k = 0; k < Math.min(itemIds.length, newItemIds.length); k++) {
        const item = order.items.find((i) => eq(i.item_id, itemIds[k]));
        if (!item) fail(`Item ${pyStr(itemIds[k])} not found`);
        const variant = getVariant(db, item.product_id, newItemIds[k]);
        if (!variant.available) fail(`New item ${pyStr(newItemIds[k])} not found or available`);
        diff = add(diff, sub(variant.price, item.price), '+=');
      }
      diff = round2(diff);
      const pm = getPaymentMethod(db, order.user_id, a.payment_method_id);
      if (isGiftCard(pm) && cmp('<', pm.balance, diff)) fail('Insufficient gift card balance to pay for the price difference');
      order.status = 'exchange requested';
      order.exchange_items = pySorted(itemIds);
      order.exchange_new_items = pySorted(newItemIds);
      order.exchange_payment_method_id = a.payment_method_id;
      order.exchange_price_difference = diff;
      return asModel(order);
    },
  },
  {
    name: 'find_user_id_by_name_zip',
    type: 'read',
    short: 'Find user id by first name, last name, and zip code. If the user is not found, the function',
    long:
      'will return an error message. By default, find user id by email, and only call this function\n' +
      'if the user is not found by email or cannot remember email.',
    params: [
      field('first_name', t.str(), "The first name of the customer, such as 'John'."),
      field('last_name', t.str(), "The last name of the customer, such as 'Doe'."),
      field('zip', t.str(), "The zip code of the customer, such as '12345'."),
    ],
    run(db, a) {
      for (const [userId, user] of Object.entries(db.users)) {
        if (
          user.name.first_name.toLowerCase() === lower(a.first_name) &&
          user.name.last_name.toLowerCase() === lower(a.last_name) &&
          user.address.zip === a.zip
        ) {
          return userId;
        }
      }
      fail('User not found');
    },
  },
  {
    name: 'find_user_id_by_email',
    type: 'read',
    short: 'Find user id by email. If the user is not found, the function will return an error message.',
    params: [field('email', t.str(), "The email of the user, such as 'something@example.com'.")],
    run(db, a) {
      for (const [userId, user] of Object.entries(db.users)) if (user.email.toLowerCase() === lower(a.email)) return userId;
      fail('User not found');
    },
  },
  {
    name: 'get_order_details',
    type: 'read',
    short: 'Get the status and details of an order.',
    params: [field('order_id', t.str(), ORDER_ID_DESC)],
    run: (db, a) => asModel(getOrder(db, a.order_id)),
  },
  {
    name: 'get_product_details',
    type: 'read',
    short: 'Get the inventory details of a product.',
    params: [field('product_id', t.str(), PRODUCT_ID_DESC)],
    run: (db, a) => asModel(getProduct(db, a.product_id)),
  },
  {
    name: 'get_item_details',
    type: 'read',
    short: 'Get the inventory details of an item.',
    params: [field('item_id', t.str(), ITEM_ID_DESC)],
    run(db, a) {
      for (const product of Object.values(db.products)) if (hasKey(product.variants, a.item_id)) return asModel(product.variants[a.item_id as string]);
      fail('Item not found');
    },
  },
  {
    name: 'get_user_details',
    type: 'read',
    short: 'Get the details of a user, including their orders.',
    params: [field('user_id', t.str(), USER_ID_DESC)],
    run: (db, a) => asModel(getUser(db, a.user_id)),
  },
  {
    name: 'list_all_product_types',
    type: 'read',
    short: 'List the name and product id of all product types.',
    long: 'Each product type has a variety of different items with unique item ids and options.\nThere are only 50 product types in the store.',
    params: [],
    run(db) {
      const byName: Record<string, string> = {};
      for (const p of Object.values(db.products)) byName[p.name] = p.product_id;
      return dumps(byName, { sortKeys: true });
    },
  },
  {
    name: 'modify_pending_order_address',
    type: 'write',
    short:
      'Modify the shipping address of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.',
    params: [field('order_id', t.str(), ORDER_ID_DESC), ...addressParams],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (!order.status.includes('pending')) fail('Non-pending order cannot be modified');
      order.address = addressFrom(a) as Record<string, string>;
      return asModel(order);
    },
  },
  {
    name: 'modify_pending_order_items',
    type: 'write',
    short:
      'Modify items in a pending order to new items of the same product type. For a pending order, this function can only be called once. The agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.',
    params: [
      field('order_id', t.str(), ORDER_ID_DESC),
      field('item_ids', t.list(t.str()), "The item ids to be modified, each such as '1008292230'. There could be duplicate items in the list."),
      field(
        'new_item_ids',
        t.list(t.str()),
        "The item ids to be modified for, each such as '1008292230'. There could be duplicate items in the list. Each new item id should match the item id in the same position and be of the same product.",
      ),
      field('payment_method_id', t.str(), PM_DESC),
    ],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (order.status !== 'pending') fail('Non-pending order cannot be modified');
      const itemIds = pyIter(a.item_ids);
      const newItemIds = pyIter(a.new_item_ids);
      const all = order.items.map((i) => i.item_id);
      for (const id of itemIds) if (count(itemIds, id) > count(all, id)) fail(`${pyStr(id)} not found`);
      if (pyLen(a.item_ids) !== pyLen(a.new_item_ids)) fail('The number of items to be exchanged should match');
      let diff: PyNum = 0;
      let variant: VariantRec | undefined;
      const n = Math.min(itemIds.length, newItemIds.length);
      for (let k = 0; k < n; k++) {
        if (eq(itemIds[k], newItemIds[k])) fail('The new item id should be different from the old item id');
        const item = order.items.find((i) => eq(i.item_id, itemIds[k]));
        if (!item) fail(`Item ${pyStr(itemIds[k])} not found`);
        variant = getVariant(db, item.product_id, newItemIds[k]);
        if (!variant.available) fail(`New item ${pyStr(newItemIds[k])} not found or available`);
        diff = add(diff, sub(variant.price, item.price), '+=');
      }
      const pm = getPaymentMethod(db, order.user_id, a.payment_method_id);
      if (isGiftCard(pm) && cmp('<', pm.balance, diff)) fail('Insufficient gift card balance to pay for the new item');
      order.payment_history.push(
        construct<OrderPaymentRec>(OrderPayment, {
          transaction_type: cmp('>', diff, 0) ? 'payment' : 'refund',
          amount: pyAbs(diff), // deliberately unrounded (reference behaviour)
          payment_method_id: a.payment_method_id,
        }),
      );
      if (isGiftCard(pm)) pm.balance = round2(sub(pm.balance, diff, '-=')) as never;
      for (let k = 0; k < n; k++) {
        const item = order.items.find((i) => eq(i.item_id, itemIds[k]));
        if (!item) fail(`Item ${pyStr(itemIds[k])} not found`);
        item.item_id = newItemIds[k] as string;
        // Quirk: price and options come from the last variant looked up above, for every item.
        item.price = variant!.price;
        item.options = variant!.options;
      }
      order.status = 'pending (item modified)';
      return asModel(order);
    },
  },
  {
    name: 'modify_pending_order_payment',
    type: 'write',
    short:
      'Modify the payment method of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.',
    params: [field('order_id', t.str(), ORDER_ID_DESC), field('payment_method_id', t.str(), PM_DESC)],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (!order.status.includes('pending')) fail('Non-pending order cannot be modified');
      const pm = getPaymentMethod(db, order.user_id, a.payment_method_id);
      if (order.payment_history.length !== 1 || order.payment_history[0].transaction_type !== 'payment') {
        fail('There should be exactly one payment for a pending order');
      }
      if (eq(order.payment_history[0].payment_method_id, a.payment_method_id)) {
        fail('The new payment method should be different from the current one');
      }
      const amount = order.payment_history[0].amount;
      if (isGiftCard(pm) && cmp('<', pm.balance, amount)) fail('Insufficient gift card balance to pay for the order');
      order.payment_history.push(
        construct<OrderPaymentRec>(OrderPayment, { transaction_type: 'payment', amount, payment_method_id: a.payment_method_id }),
        construct<OrderPaymentRec>(OrderPayment, {
          transaction_type: 'refund',
          amount,
          payment_method_id: order.payment_history[0].payment_method_id,
        }),
      );
      if (isGiftCard(pm)) pm.balance = round2(sub(pm.balance, amount, '-=')) as never;
      const oldPm = getPaymentMethod(db, order.user_id, order.payment_history[0].payment_method_id);
      if (isGiftCard(oldPm)) oldPm.balance = round2(add(oldPm.balance, amount, '+=')) as never;
      return asModel(order);
    },
  },
  {
    name: 'modify_user_address',
    type: 'write',
    short:
      'Modify the default address of a user. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.',
    params: [field('user_id', t.str(), USER_ID_DESC), ...addressParams],
    run(db, a) {
      const user = getUser(db, a.user_id);
      user.address = addressFrom(a) as Record<string, string>;
      return asModel(user);
    },
  },
  {
    name: 'return_delivered_order_items',
    type: 'write',
    short: 'Return some items of a delivered order.',
    long:
      "The order status will be changed to 'return requested'.\n" +
      'The agent needs to explain the return detail and ask for explicit user confirmation (yes/no) to proceed.\n' +
      'The user will receive follow-up email for how and where to return the item.',
    params: [
      field('order_id', t.str(), ORDER_ID_DESC),
      field('item_ids', t.list(t.str()), "The item ids to be returned, each such as '1008292230'. There could be duplicate items in the list."),
      field(
        'payment_method_id',
        t.str(),
        "The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'.\nThese can be looked up from the user or order details.",
      ),
    ],
    run(db, a) {
      const order = getOrder(db, a.order_id);
      if (order.status !== 'delivered') fail('Non-delivered order cannot be returned');
      const user = getUser(db, order.user_id);
      const pm = getPaymentMethod(db, user.user_id, a.payment_method_id);
      if (!isGiftCard(pm) && !eq(a.payment_method_id, order.payment_history[0].payment_method_id)) {
        fail('Payment method should be the original payment method');
      }
      const itemIds = pyIter(a.item_ids);
      const all = order.items.map((i) => i.item_id);
      for (const id of itemIds) if (count(itemIds, id) > count(all, id)) fail('Some item not found');
      order.status = 'return requested';
      order.return_items = pySorted(itemIds);
      order.return_payment_method_id = a.payment_method_id;
      return asModel(order);
    },
  },
  TRANSFER_TO_HUMAN_AGENTS as ToolDef<RetailDbData>,
];

export const retailToolkit: ToolkitSpec<RetailDbData> = { className: 'RetailTools', tools: retailTools };

export type { OrderPaymentRec };
