/**
 * Airline agent tools (τ² `AirlineTools`), in the reference's offer order. Behaviour, texts and
 * quirks follow notes §2.1 and §8: fixed "now" and ids, cancellations never free seats, flight
 * updates never touch seats, a certificate is consumed whole, the one-stop date arithmetic is
 * unpadded and `leave_after` is a string comparison, and argument values are used raw except where
 * the reference builds a model (FlightInfo/Passenger/Payment/Reservation/Certificate).
 */
import { CALCULATE, TRANSFER_TO_HUMAN_AGENTS } from '../core/common-tools.ts';
import { add, cmp, eq, mul, sub } from '../pycompat/pyarith-ops.ts';
import { deepCopy, pyStr, type PyValue } from '../pycompat/pyjson.ts';
import { pyMax, type PyNum } from '../pycompat/pynum.ts';
import { attr, hasKey, isDictValue, keyError, pyIter, pyLen } from '../pycompat/pyops.ts';
import { construct, field, t, type ModelDesc } from '../core/schema.ts';
import { PyError, asModel, fail, type ToolDef, type ToolkitSpec } from '../core/tool.ts';
import {
  AirportCode,
  CabinClass,
  Certificate,
  DirectFlight,
  FlightInfo,
  FlightType,
  Insurance,
  Passenger,
  Payment,
  Reservation,
  ReservationFlight,
  type DateStatusRec,
  type FlightDbData,
  type FlightRec,
  type PaymentRec,
  type ReservationFlightRec,
  type ReservationRec,
  type UserRec,
} from './models.ts';

const NOW = '2024-05-15T15:00:00';
const NEW_RESERVATION_IDS = ['HATHAT', 'HATHAU', 'HATHAV'];
const NEW_CERTIFICATE_IDS = [3221322, 3221323, 3221324];

const PAYMENT_ID_DESC =
  "The payment id stored in user profile, such as 'credit_card_7815826', 'gift_card_7815826', 'certificate_7815826'.";

function getUser(db: FlightDbData, userId: unknown): UserRec {
  if (!hasKey(db.users, userId)) fail(`User ${pyStr(userId)} not found`);
  return db.users[userId as string];
}

function getReservation(db: FlightDbData, id: unknown): ReservationRec {
  if (!hasKey(db.reservations, id)) fail(`Reservation ${pyStr(id)} not found`);
  return db.reservations[id as string];
}

function getFlight(db: FlightDbData, flightNumber: unknown): FlightRec {
  if (!hasKey(db.flights, flightNumber)) fail(`Flight ${pyStr(flightNumber)} not found`);
  return db.flights[flightNumber as string];
}

function getFlightInstance(db: FlightDbData, flightNumber: unknown, date: unknown): DateStatusRec {
  const flight = getFlight(db, flightNumber);
  if (!hasKey(flight.dates, date)) fail(`Flight ${pyStr(flightNumber)} not found on date ${pyStr(date)}`);
  return flight.dates[date as string];
}

/** `if all(isinstance(x, dict) for x in xs): xs = [Model(**x) for x in xs]`. */
function convertIfAllDicts(value: unknown, m: ModelDesc): { items: unknown[]; models: boolean; raw: unknown } {
  const items = pyIter(value);
  if (items.every(isDictValue)) return { items: items.map((x) => construct(m, x)), models: true, raw: value };
  return { items, models: false, raw: value };
}

function searchDirect(db: FlightDbData, date: unknown, origin: unknown, destination: unknown, leaveAfter?: string) {
  const out: Record<string, PyValue>[] = [];
  for (const flight of Object.values(db.flights)) {
    const ok =
      (origin === undefined || eq(flight.origin, origin)) &&
      (destination === undefined || eq(flight.destination, destination)) &&
      hasKey(flight.dates, date) &&
      flight.dates[date as string].status === 'available' &&
      (leaveAfter === undefined || flight.scheduled_departure_time_est >= leaveAfter);
    if (ok) {
      const d = flight.dates[date as string];
      out.push(
        construct(DirectFlight, {
          flight_number: flight.flight_number,
          origin: flight.origin,
          destination: flight.destination,
          status: 'available',
          scheduled_departure_time_est: flight.scheduled_departure_time_est,
          scheduled_arrival_time_est: flight.scheduled_arrival_time_est,
          available_seats: d.available_seats,
          prices: d.prices,
        }),
      );
    }
  }
  return out;
}

/** `_payment_for_update`: checks, gift-card debit (also a credit when negative), optional Payment. */
function paymentForUpdate(user: UserRec, paymentId: unknown, totalPrice: PyNum): PaymentRec | null {
  if (!hasKey(user.payment_methods, paymentId)) fail('Payment method not found');
  const pm = user.payment_methods[paymentId as string];
  if (pm.source === 'certificate') fail('Certificate cannot be used to update reservation');
  else if (pm.source === 'gift_card' && cmp('<', pm.amount, totalPrice)) fail('Gift card balance is not enough');
  if (pm.source === 'gift_card') pm.amount = sub(pm.amount, totalPrice, '-=') as PaymentRec['amount'];
  if (!eq(totalPrice, 0)) return construct<PaymentRec>(Payment, { payment_id: paymentId, amount: totalPrice });
  return null;
}

const flightInfoList = (desc: string) => field('flights', t.list(t.union(t.model(FlightInfo), t.rawdict())), desc);
const passengerList = field(
  'passengers',
  t.list(t.union(t.model(Passenger), t.rawdict())),
  'An array of objects containing details about each passenger.',
);

export const airlineTools: ToolDef<FlightDbData>[] = [
  {
    name: 'book_reservation',
    type: 'write',
    short: 'Book a reservation.',
    params: [
      field('user_id', t.str(), "The ID of the user to book the reservation such as 'sara_doe_496'`."),
      field('origin', t.str(), "The IATA code for the origin city such as 'SFO'."),
      field('destination', t.str(), "The IATA code for the destination city such as 'JFK'."),
      field('flight_type', FlightType, "The type of flight such as 'one_way' or 'round_trip'."),
      field('cabin', CabinClass, "The cabin class such as 'basic_economy', 'economy', or 'business'."),
      flightInfoList('An array of objects containing details about each piece of flight.'),
      passengerList,
      field(
        'payment_methods',
        t.list(t.union(t.model(Payment), t.rawdict())),
        'An array of objects containing details about each payment method.',
      ),
      field('total_baggages', t.int(), 'The total number of baggage items to book the reservation.'),
      field('nonfree_baggages', t.int(), 'The number of non-free baggage items to book the reservation.'),
      field('insurance', Insurance, 'Whether the reservation has insurance.'),
    ],
    run(db, a) {
      const flights = convertIfAllDicts(a.flights, FlightInfo);
      const passengers = convertIfAllDicts(a.passengers, Passenger);
      const payments = convertIfAllDicts(a.payment_methods, Payment);
      const user = getUser(db, a.user_id);
      const userId = user.user_id;
      const reservationId = NEW_RESERVATION_IDS.find((id) => !hasKey(db.reservations, id));
      if (!reservationId) fail('Too many reservations');
      const reservation = construct<ReservationRec>(Reservation, {
        reservation_id: reservationId,
        user_id: userId,
        origin: a.origin,
        destination: a.destination,
        flight_type: a.flight_type,
        cabin: a.cabin,
        flights: [],
        passengers: deepCopy(passengers.models ? passengers.items : passengers.raw),
        payment_history: deepCopy(payments.models ? payments.items : payments.raw),
        created_at: NOW,
        total_baggages: a.total_baggages,
        nonfree_baggages: a.nonfree_baggages,
        insurance: a.insurance,
      });
      const cabin = a.cabin as string;
      const nPax = pyLen(passengers.raw);

      let totalPrice: PyNum = 0;
      const dateData: DateStatusRec[] = [];
      for (const info of flights.items) {
        const flight = getFlight(db, attr(info, 'flight_number', flights.models));
        const date = attr(info, 'date', flights.models);
        const d = getFlightInstance(db, flight.flight_number, date);
        if (d.status !== 'available') fail(`Flight ${flight.flight_number} not available on date ${pyStr(date)}`);
        if (cmp('<', d.available_seats![cabin], nPax)) fail(`Not enough seats on flight ${flight.flight_number}`);
        const price = d.prices![cabin];
        reservation.flights.push(
          construct<ReservationFlightRec>(ReservationFlight, {
            origin: flight.origin,
            destination: flight.destination,
            flight_number: flight.flight_number,
            date,
            price,
          }),
        );
        dateData.push(d);
        totalPrice = add(totalPrice, mul(price, nPax), '+=');
      }
      if (a.insurance === 'yes') totalPrice = add(totalPrice, 30 * nPax, '+=');
      totalPrice = add(totalPrice, mul(50, a.nonfree_baggages), '+=');

      for (const p of payments.items) {
        const paymentId = attr(p, 'payment_id', payments.models);
        const amount = attr(p, 'amount', payments.models);
        if (!hasKey(user.payment_methods, paymentId)) fail(`Payment method ${pyStr(paymentId)} not found`);
        const upm = user.payment_methods[paymentId as string];
        if ((upm.source === 'gift_card' || upm.source === 'certificate') && cmp('<', upm.amount, amount)) {
          fail(`Not enough balance in payment method ${pyStr(paymentId)}`);
        }
      }
      let totalPayment: PyNum = 0;
      for (const p of payments.items) totalPayment = add(totalPayment, attr(p, 'amount', payments.models));
      if (!eq(totalPayment, totalPrice)) {
        fail(`Payment amount does not add up, total price is ${pyStr(totalPrice)}, but paid ${pyStr(totalPayment)}`);
      }
      for (const p of payments.items) {
        const paymentId = attr(p, 'payment_id', payments.models) as string;
        const upm = user.payment_methods[paymentId];
        if (!upm) continue; // popped earlier in this loop (same certificate twice)
        if (upm.source === 'gift_card') upm.amount = sub(upm.amount, attr(p, 'amount', payments.models), '-=') as never;
        else if (upm.source === 'certificate') delete user.payment_methods[paymentId];
      }
      for (const d of dateData) d.available_seats![cabin] = sub(d.available_seats![cabin], nPax, '-=') as never;
      db.reservations[reservationId] = reservation;
      db.users[userId].reservations.push(reservationId);
      return asModel(reservation);
    },
  },
  CALCULATE as ToolDef<FlightDbData>,
  {
    name: 'cancel_reservation',
    type: 'write',
    short: 'Cancel the whole reservation.',
    params: [field('reservation_id', t.str(), "The reservation ID, such as 'ZFA04Y'.")],
    run(db, a) {
      const r = getReservation(db, a.reservation_id);
      const refunds = r.payment_history.map((p) =>
        construct<PaymentRec>(Payment, { payment_id: p.payment_id, amount: sub(0, p.amount) }),
      );
      r.payment_history.push(...refunds);
      r.status = 'cancelled';
      // Seats are deliberately not released (reference behaviour).
      return asModel(r);
    },
  },
  {
    name: 'get_reservation_details',
    type: 'read',
    short: 'Get the details of a reservation.',
    params: [field('reservation_id', t.str(), "The reservation ID, such as '8JX2WO'.")],
    run: (db, a) => asModel(getReservation(db, a.reservation_id)),
  },
  {
    name: 'get_user_details',
    type: 'read',
    short: 'Get the details of a user, including their reservations.',
    params: [field('user_id', t.str(), "The user ID, such as 'sara_doe_496'.")],
    run: (db, a) => asModel(getUser(db, a.user_id)),
  },
  {
    name: 'list_all_airports',
    type: 'read',
    short: 'Returns a list of all available airports.',
    params: [],
    run: () =>
      AIRPORTS.map(([iata, city]) => asModel(construct(AirportCode, { iata, city }))),
  },
  {
    name: 'search_direct_flight',
    type: 'read',
    short: 'Search for direct flights between two cities on a specific date.',
    params: [
      field('origin', t.str(), "The origin city airport in three letters, such as 'JFK'."),
      field('destination', t.str(), "The destination city airport in three letters, such as 'LAX'."),
      field('date', t.str(), "The date of the flight in the format 'YYYY-MM-DD', such as '2024-01-01'."),
    ],
    run: (db, a) => searchDirect(db, a.date, a.origin ?? undefined, a.destination ?? undefined).map(asModel),
  },
  {
    name: 'search_onestop_flight',
    type: 'read',
    short: 'Search for one-stop flights between two cities on a specific date.',
    params: [
      field('origin', t.str(), "The origin city airport in three letters, such as 'JFK'."),
      field('destination', t.str(), "The destination city airport in three letters, such as 'LAX'."),
      field('date', t.str(), "The date of the flight in the format 'YYYY-MM-DD', such as '2024-05-01'."),
    ],
    run(db, a) {
      const results: unknown[] = [];
      for (const first of searchDirect(db, a.date, a.origin ?? undefined, undefined)) {
        first.date = a.date as string;
        const arrival = first.scheduled_arrival_time_est as string;
        // Unpadded day arithmetic, exactly as the reference: "2024-05-09" + 1 day -> "2024-05-10", "2024-05-05" -> "2024-05-6".
        const date2 = arrival.includes('+1') ? `2024-05-${pyIntOfLastTwo(a.date as string) + 1}` : (a.date as string);
        for (const second of searchDirect(db, date2, first.destination, a.destination ?? undefined, arrival)) {
          second.date = date2;
          results.push([asModel(first), asModel(second)]);
        }
      }
      return results;
    },
  },
  {
    name: 'send_certificate',
    type: 'write',
    short: 'Send a certificate to a user. Be careful!',
    params: [
      field('user_id', t.str(), "The ID of the user to book the reservation, such as 'sara_doe_496'."),
      field('amount', t.int(), 'The amount of the certificate to send.'),
    ],
    run(db, a) {
      const user = getUser(db, a.user_id);
      for (const n of NEW_CERTIFICATE_IDS) {
        const paymentId = `certificate_${n}`;
        if (!hasKey(user.payment_methods, paymentId)) {
          user.payment_methods[paymentId] = construct(Certificate, { id: paymentId, amount: a.amount, source: 'certificate' });
          return `Certificate ${paymentId} added to user ${pyStr(a.user_id)} with amount ${pyStr(a.amount)}.`;
        }
      }
      fail('Too many certificates');
    },
  },
  TRANSFER_TO_HUMAN_AGENTS as ToolDef<FlightDbData>,
  {
    name: 'update_reservation_baggages',
    type: 'write',
    short: 'Update the baggage information of a reservation.',
    params: [
      field('reservation_id', t.str(), "The reservation ID, such as 'ZFA04Y'"),
      field('total_baggages', t.int(), 'The updated total number of baggage items included in the reservation.'),
      field('nonfree_baggages', t.int(), 'The updated number of non-free baggage items included in the reservation.'),
      field('payment_id', t.str(), PAYMENT_ID_DESC),
    ],
    run(db, a) {
      const r = getReservation(db, a.reservation_id);
      const user = getUser(db, r.user_id);
      const extra = sub(a.nonfree_baggages, r.nonfree_baggages);
      const totalPrice = mul(50, pyMax(0, extra)) as PyNum;
      const payment = paymentForUpdate(user, a.payment_id, totalPrice);
      if (payment) r.payment_history.push(payment);
      r.total_baggages = a.total_baggages; // raw assignment, not validated
      r.nonfree_baggages = a.nonfree_baggages;
      return asModel(r);
    },
  },
  {
    name: 'update_reservation_flights',
    type: 'write',
    short: 'Update the flight information of a reservation.',
    params: [
      field('reservation_id', t.str(), "The reservation ID, such as 'ZFA04Y'."),
      field('cabin', CabinClass, 'The cabin class of the reservation'),
      flightInfoList(
        'An array of objects containing details about each piece of flight in the ENTIRE new reservation. Even if the a flight segment is not changed, it should still be included in the array.',
      ),
      field('payment_id', t.str(), PAYMENT_ID_DESC),
    ],
    run(db, a) {
      const flights = convertIfAllDicts(a.flights, FlightInfo);
      const r = getReservation(db, a.reservation_id);
      const user = getUser(db, r.user_id);
      const nPax = r.passengers.length;
      let totalPrice: PyNum = 0;
      const newFlights: ReservationFlightRec[] = [];
      for (const info of flights.items) {
        const flightNumber = attr(info, 'flight_number', flights.models);
        const date = attr(info, 'date', flights.models);
        const flight = getFlight(db, flightNumber);
        const existing = r.flights.find((rf) => rf.flight_number === flight.flight_number && eq(rf.date, date) && eq(a.cabin, r.cabin));
        if (existing) {
          totalPrice = add(totalPrice, mul(existing.price, nPax), '+=');
          newFlights.push(existing);
          continue;
        }
        const d = getFlightInstance(db, flight.flight_number, date);
        if (d.status !== 'available') fail(`Flight ${flight.flight_number} not available on date ${pyStr(date)}`);
        const seatsLeft = lookupCabin(d.available_seats!, a.cabin);
        if (cmp('<', seatsLeft, nPax)) fail(`Not enough seats on flight ${flight.flight_number}`);
        const rf = construct<ReservationFlightRec>(ReservationFlight, {
          flight_number: flight.flight_number,
          date,
          price: lookupCabin(d.prices!, a.cabin),
          origin: flight.origin,
          destination: flight.destination,
        });
        totalPrice = add(totalPrice, mul(rf.price, nPax), '+=');
        newFlights.push(rf);
      }
      let paid: PyNum = 0;
      for (const f of r.flights) paid = add(paid, f.price);
      totalPrice = sub(totalPrice, mul(paid, nPax), '-=');
      const payment = paymentForUpdate(user, a.payment_id, totalPrice);
      if (payment) r.payment_history.push(payment);
      r.flights = newFlights;
      r.cabin = a.cabin as string; // raw assignment
      // Seats are deliberately not changed (reference behaviour).
      return asModel(r);
    },
  },
  {
    name: 'update_reservation_passengers',
    type: 'write',
    short: 'Update the passenger information of a reservation.',
    params: [field('reservation_id', t.str(), "The reservation ID, such as 'ZFA04Y'."), passengerList],
    run(db, a) {
      const passengers = convertIfAllDicts(a.passengers, Passenger);
      const r = getReservation(db, a.reservation_id);
      if (pyLen(passengers.raw) !== r.passengers.length) fail('Number of passengers does not match');
      r.passengers = deepCopy(passengers.models ? passengers.items : (passengers.raw as unknown[]));
      return asModel(r);
    },
  },
  {
    name: 'get_flight_status',
    type: 'read',
    short: 'Get the status of a flight.',
    params: [field('flight_number', t.str(), 'The flight number.'), field('date', t.str(), 'The date of the flight.')],
    run: (db, a) => getFlightInstance(db, a.flight_number, a.date).status,
  },
];

function lookupCabin(byCabin: Record<string, unknown>, cabin: unknown): PyNum {
  if (!hasKey(byCabin, cabin)) keyError(cabin);
  return byCabin[cabin as string] as PyNum;
}

/** `int(date[-2:])` with Python's error for a non-numeric tail. */
function pyIntOfLastTwo(date: string): number {
  const tail = [...date].slice(-2).join('');
  if (!/^\s*[-+]?\d+\s*$/.test(tail)) throw new PyError(`invalid literal for int() with base 10: '${tail}'`, 'ValueError');
  return parseInt(tail, 10);
}

const AIRPORTS: [string, string][] = [
  ['SFO', 'San Francisco'],
  ['JFK', 'New York'],
  ['LAX', 'Los Angeles'],
  ['ORD', 'Chicago'],
  ['DFW', 'Dallas'],
  ['DEN', 'Denver'],
  ['SEA', 'Seattle'],
  ['ATL', 'Atlanta'],
  ['MIA', 'Miami'],
  ['BOS', 'Boston'],
  ['PHX', 'Phoenix'],
  ['IAH', 'Houston'],
  ['LAS', 'Las Vegas'],
  ['MCO', 'Orlando'],
  ['EWR', 'Newark'],
  ['CLT', 'Charlotte'],
  ['MSP', 'Minneapolis'],
  ['DTW', 'Detroit'],
  ['PHL', 'Philadelphia'],
  ['LGA', 'LaGuardia'],
];

export const airlineToolkit: ToolkitSpec<FlightDbData> = { className: 'AirlineTools', tools: airlineTools };
