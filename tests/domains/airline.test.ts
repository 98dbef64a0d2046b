// Airline tools on the real τ² airline DB: results, error texts and the reference's quirks (notes §2.1, §8).
import { beforeAll, describe, expect, it } from 'vitest';
import { PyFloat, dumps, parse } from '../../domains/pycompat/pyjson.ts';
import type { Environment } from '../../domains/core/environment.ts';
import { getDomain } from '../../domains/registry.ts';
import type { FlightDbData } from '../../domains/airline/models.ts';

import '../helpers/tau2.ts';

let env: Environment;
const db = () => env.tools!.db.data as FlightDbData;
const call = (name: string, args: Record<string, unknown>) => env.getResponse({ id: 'c', name, arguments: args });
const out = (name: string, args: Record<string, unknown>) => {
  const r = call(name, args);
  if (r.error) throw new Error(r.content);
  return parse(r.content) as any;
};
const err = (name: string, args: Record<string, unknown>) => {
  const r = call(name, args);
  expect(r.error).toBe(true);
  return r.content;
};

const oneWay = (over: Record<string, unknown> = {}) => ({
  user_id: 'mia_li_3668',
  origin: 'DFW',
  destination: 'LAX',
  flight_type: 'one_way',
  cabin: 'economy',
  flights: [{ flight_number: 'HAT170', date: '2024-05-22' }],
  passengers: [{ first_name: 'Mia', last_name: 'Li', dob: '1990-04-05' }],
  payment_methods: [{ payment_id: 'certificate_7504069', amount: 147 }],
  total_baggages: 0,
  nonfree_baggages: 0,
  insurance: 'no',
  ...over,
});

beforeAll(() => {
  getDomain('airline').createEnvironment(); // warm the DB cache once
});

describe('airline tool list', () => {
  it('offers the 14 tools in reference order with typed schemas', () => {
    env = getDomain('airline').createEnvironment();
    const schemas = env.agentToolSchemas();
    expect(schemas.map((s) => s.function.name)).toEqual([
      'book_reservation', 'calculate', 'cancel_reservation', 'get_reservation_details', 'get_user_details', 'list_all_airports',
      'search_direct_flight', 'search_onestop_flight', 'send_certificate', 'transfer_to_human_agents', 'update_reservation_baggages',
      'update_reservation_flights', 'update_reservation_passengers', 'get_flight_status',
    ]);
    const book = schemas[0].function.parameters as any;
    expect(Object.keys(book.properties)).toEqual([
      'user_id', 'origin', 'destination', 'flight_type', 'cabin', 'flights', 'passengers', 'payment_methods', 'total_baggages', 'nonfree_baggages', 'insurance',
    ]);
    expect(book.properties.cabin.enum).toEqual(['business', 'economy', 'basic_economy']);
    expect(Object.keys(book.$defs)).toEqual(['FlightInfo', 'Passenger', 'Payment']);
    expect(schemas[9].function.description).toBe(
      "Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly transfer if\n -  the user explicitly asks for a human agent\n -  given the policy and the available tools, you cannot solve the user's issue.",
    );
  });
});

describe('book_reservation', () => {
  it('books with fixed id and time, consumes a partly used certificate whole, decrements seats', () => {
    env = getDomain('airline').createEnvironment();
    const r = out('book_reservation', oneWay());
    expect(r.reservation_id).toBe('HATHAT');
    expect(r.created_at).toBe('2024-05-15T15:00:00');
    expect(r.status).toBeNull();
    expect(r.flights).toEqual([{ flight_number: 'HAT170', origin: 'DFW', destination: 'LAX', date: '2024-05-22', price: 147 }]);
    expect(db().users.mia_li_3668.payment_methods.certificate_7504069).toBeUndefined(); // 250 certificate, 147 used
    expect(db().flights.HAT170.dates['2024-05-22'].available_seats!.economy).toBe(5);
    expect(db().users.mia_li_3668.reservations.at(-1)).toBe('HATHAT');
    expect(out('book_reservation', oneWay({ payment_methods: [{ payment_id: 'credit_card_4421486', amount: 147 }] })).reservation_id).toBe('HATHAU');
    out('book_reservation', oneWay({ payment_methods: [{ payment_id: 'credit_card_4421486', amount: 147 }] }));
    expect(err('book_reservation', oneWay({ payment_methods: [{ payment_id: 'credit_card_4421486', amount: 147 }] }))).toBe('Error: Too many reservations');
  });

  it('prices insurance (30/pax) and bags (50 each); coerces payment amounts on model construction', () => {
    env = getDomain('airline').createEnvironment();
    const twoPax = [
      { first_name: 'Mia', last_name: 'Li', dob: '1990-04-05' },
      { first_name: 'A', last_name: 'B', dob: '2000-01-01' },
    ];
    expect(err('book_reservation', oneWay({ passengers: twoPax, insurance: 'yes', nonfree_baggages: 1 }))).toBe(
      'Error: Payment amount does not add up, total price is 404, but paid 147',
    );
    // nonfree_baggages=1.0 makes the total a float (197.0); Reservation stores the int 1, Payment(amount=197.0) stores 197.
    const r = out('book_reservation', oneWay({ nonfree_baggages: new PyFloat(1), payment_methods: [{ payment_id: 'credit_card_4421486', amount: new PyFloat(197) }] }));
    expect(dumps([r.nonfree_baggages, r.payment_history])).toBe('[1, [{"payment_id": "credit_card_4421486", "amount": 197}]]');
    expect(err('book_reservation', oneWay({ payment_methods: [{ payment_id: 'credit_card_4421486', amount: 100 }] }))).toBe(
      'Error: Payment amount does not add up, total price is 147, but paid 100',
    );
  });

  it('checks flights, seats, users and payment methods with the reference texts', () => {
    env = getDomain('airline').createEnvironment();
    expect(err('book_reservation', oneWay({ user_id: 'nobody' }))).toBe('Error: User nobody not found');
    expect(err('book_reservation', oneWay({ flights: [{ flight_number: 'HAT999', date: '2024-05-22' }] }))).toBe('Error: Flight HAT999 not found');
    expect(err('book_reservation', oneWay({ flights: [{ flight_number: 'HAT170', date: '2024-06-22' }] }))).toBe('Error: Flight HAT170 not found on date 2024-06-22');
    expect(err('book_reservation', oneWay({ flights: [{ flight_number: 'HAT170', date: '2024-05-01' }] }))).toBe('Error: Flight HAT170 not available on date 2024-05-01');
    expect(err('book_reservation', oneWay({ cabin: 'business' }))).toBe('Error: Not enough seats on flight HAT170');
    expect(err('book_reservation', oneWay({ payment_methods: [{ payment_id: 'gift_card_1', amount: 147 }] }))).toBe('Error: Payment method gift_card_1 not found');
    expect(err('book_reservation', oneWay({ payment_methods: [{ payment_id: 'certificate_4856383', amount: 147 }] }))).toBe(
      'Error: Not enough balance in payment method certificate_4856383',
    );
    expect(err('book_reservation', oneWay({ flights: [{ flight_number: 'HAT170' }] }))).toBe(
      "Error: 1 validation error for FlightInfo\ndate\n  Field required [type=missing, input_value={'flight_number': 'HAT170'}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.12/v/missing",
    );
    expect(err('book_reservation', oneWay({ cabin: 'first' }))).toMatch(/^Error: 1 validation error for Reservation\ncabin\n {2}Input should be 'business', 'economy' or 'basic_economy' \[type=literal_error/);
    expect(db().reservations.HATHAT).toBeUndefined(); // nothing was written by the failures
  });
});

describe('cancel / update tools', () => {
  it('cancel appends negative refunds and never frees seats', () => {
    env = getDomain('airline').createEnvironment();
    const seats = db().flights.HAT170.dates['2024-05-22'].available_seats!.business;
    const r = out('cancel_reservation', { reservation_id: '4WQ150' });
    expect(r.status).toBe('cancelled');
    expect(r.payment_history).toEqual([{ payment_id: 'gift_card_3576581', amount: 4986 }, { payment_id: 'gift_card_3576581', amount: -4986 }]);
    expect(db().flights.HAT170.dates['2024-05-22'].available_seats!.business).toBe(seats);
    expect(err('cancel_reservation', { reservation_id: 'NOPE' })).toBe('Error: Reservation NOPE not found');
  });

  it('baggage updates: 50 per extra non-free bag, raw assignment keeps a float (1.0 != 1 in the DB hash)', () => {
    env = getDomain('airline').createEnvironment();
    const r = out('update_reservation_baggages', { reservation_id: 'PGAGLM', total_baggages: 2, nonfree_baggages: 1, payment_id: 'credit_card_2655640' });
    expect(r.payment_history.at(-1)).toEqual({ payment_id: 'credit_card_2655640', amount: 50 });
    const intHash = env.agentDbHash();
    env = getDomain('airline').createEnvironment();
    const rf = call('update_reservation_baggages', { reservation_id: 'PGAGLM', total_baggages: 2, nonfree_baggages: new PyFloat(1), payment_id: 'credit_card_2655640' });
    expect(rf.content).toContain('"nonfree_baggages": 1.0');
    expect(rf.content).toContain('{"payment_id": "credit_card_2655640", "amount": 50}'); // Payment(amount=50.0) -> 50
    expect(env.agentDbHash()).not.toBe(intHash);
  });

  it('update payment checks: unknown method, certificate refused, gift card balance', () => {
    env = getDomain('airline').createEnvironment();
    const base = { reservation_id: 'PGAGLM', total_baggages: 3, nonfree_baggages: 2 };
    expect(err('update_reservation_baggages', { ...base, payment_id: 'x' })).toBe('Error: Payment method not found');
    expect(err('update_reservation_baggages', { ...base, payment_id: 'gift_card_4033665' })).toBe('Error: Gift card balance is not enough');
    const mia = { reservation_id: 'NO6JO3', total_baggages: 3, nonfree_baggages: 9, payment_id: 'certificate_4856383' };
    expect(err('update_reservation_baggages', mia)).toBe('Error: Certificate cannot be used to update reservation');
    // zero price: no payment appended, gift card untouched
    const before = db().reservations.PGAGLM.payment_history.length;
    out('update_reservation_baggages', { reservation_id: 'PGAGLM', total_baggages: 1, nonfree_baggages: 0, payment_id: 'gift_card_4033665' });
    expect(db().reservations.PGAGLM.payment_history.length).toBe(before);
    expect(err('update_reservation_baggages', { reservation_id: 'PGAGLM', total_baggages: 1, payment_id: 'x' })).toBe(
      "Error: AirlineTools.update_reservation_baggages() missing 1 required positional argument: 'nonfree_baggages'",
    );
  });

  it('flight updates keep unchanged segments at old prices, refund to a gift card, never change seats', () => {
    env = getDomain('airline').createEnvironment();
    const both = [{ flight_number: 'HAT090', date: '2024-05-24' }, { flight_number: 'HAT223', date: '2024-05-24' }];
    const same = out('update_reservation_flights', { reservation_id: 'PGAGLM', cabin: 'business', flights: both, payment_id: 'gift_card_4033665' });
    expect(same.payment_history.length).toBe(1); // total 0: no payment
    const seats = { ...db().flights.HAT090.dates['2024-05-24'].available_seats };
    // business 559 + 985 (paid) -> economy 149 + 146 now: a -1249 "payment" that credits the gift card
    const r = out('update_reservation_flights', { reservation_id: 'PGAGLM', cabin: 'economy', flights: both, payment_id: 'gift_card_4033665' });
    expect(r.payment_history.at(-1)).toEqual({ payment_id: 'gift_card_4033665', amount: -1249 });
    expect(r.flights[0].price).toBe(149);
    expect(r.cabin).toBe('economy');
    expect(dumps(db().users.isabella_muller_2311.payment_methods.gift_card_4033665.amount)).toBe('1305.0');
    expect(db().flights.HAT090.dates['2024-05-24'].available_seats).toEqual(seats);
    expect(
      err('update_reservation_flights', { reservation_id: 'PGAGLM', cabin: 'first', flights: both, payment_id: 'gift_card_4033665' }),
    ).toBe("Error: 'first'"); // KeyError on the seat map, as in Python
  });

  it('passenger updates require the same count', () => {
    env = getDomain('airline').createEnvironment();
    expect(err('update_reservation_passengers', { reservation_id: 'PGAGLM', passengers: [] })).toBe('Error: Number of passengers does not match');
    const r = out('update_reservation_passengers', { reservation_id: 'PGAGLM', passengers: [{ first_name: 'X', last_name: 'Y', dob: '2001-01-01', extra: 1 }] });
    expect(r.passengers).toEqual([{ first_name: 'X', last_name: 'Y', dob: '2001-01-01' }]);
  });
});

describe('other tools', () => {
  it('send_certificate uses fixed ids, stores a float, echoes the raw amount', () => {
    env = getDomain('airline').createEnvironment();
    expect(call('send_certificate', { user_id: 'mia_li_3668', amount: 100 }).content).toBe('Certificate certificate_3221322 added to user mia_li_3668 with amount 100.');
    expect(dumps(db().users.mia_li_3668.payment_methods.certificate_3221322)).toBe('{"source": "certificate", "id": "certificate_3221322", "amount": 100.0}');
    call('send_certificate', { user_id: 'mia_li_3668', amount: 50 });
    expect(call('send_certificate', { user_id: 'mia_li_3668', amount: 50 }).content).toContain('certificate_3221324');
    expect(err('send_certificate', { user_id: 'mia_li_3668', amount: 5 })).toBe('Error: Too many certificates');
  });

  it('direct search returns available flights with date null; one-stop sets leg dates', () => {
    env = getDomain('airline').createEnvironment();
    const direct = out('search_direct_flight', { origin: 'DFW', destination: 'LAX', date: '2024-05-22' });
    expect(direct.length).toBeGreaterThan(0);
    expect(direct[0]).toMatchObject({ status: 'available', date: null });
    expect(Object.keys(direct[0])).toEqual(['flight_number', 'origin', 'destination', 'status', 'scheduled_departure_time_est', 'scheduled_arrival_time_est', 'date', 'available_seats', 'prices']);
    const pairs = out('search_onestop_flight', { origin: 'LGA', destination: 'SFO', date: '2024-05-16' });
    const overnight = pairs.find((p: any) => p[0].flight_number === 'HAT002');
    expect(overnight[0].date).toBe('2024-05-16');
    expect(overnight[1].date).toBe('2024-05-17'); // arrival "01:30:00+1" moves the second leg a day
  });

  it('one-stop date arithmetic is unpadded (2024-05-05 -> "2024-05-6", which matches nothing)', () => {
    env = getDomain('airline').createEnvironment();
    const avail = { status: 'available', available_seats: { basic_economy: 5, economy: 5, business: 5 }, prices: { basic_economy: 1, economy: 2, business: 3 } };
    env.tools!.db.update({ flights: { HAT002: { dates: { '2024-05-05': avail, '2024-05-16': avail } }, HAT009: { dates: { '2024-05-06': avail } } } });
    expect(out('search_onestop_flight', { origin: 'LGA', destination: 'SFO', date: '2024-05-05' })).toEqual([]);
  });

  it('status, airports, transfer and lookups', () => {
    env = getDomain('airline').createEnvironment();
    expect(call('get_flight_status', { flight_number: 'HAT170', date: '2024-05-01' }).content).toBe('landed');
    expect(err('get_flight_status', { flight_number: 'HAT170', date: 'x' })).toBe('Error: Flight HAT170 not found on date x');
    expect(out('list_all_airports', {})).toHaveLength(20);
    expect(call('transfer_to_human_agents', { summary: 's' }).content).toBe('Transfer successful');
    expect(err('get_user_details', { user_id: 'Mia_Li_3668' })).toBe('Error: User Mia_Li_3668 not found');
    expect(out('get_user_details', { user_id: 'mia_li_3668' }).address.address2).toBe('Suite 217');
    expect(call('calculate', { expression: '147 * 2' }).content).toBe('294.0');
  });
});
