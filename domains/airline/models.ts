/** Airline DB models (τ² `FlightDB`), field order as the reference's pydantic models. */
import type { PyFloat } from '../pycompat/pyjson.ts';
import { field, model, optField, t } from '../core/schema.ts';

export const FlightType = t.literal('round_trip', 'one_way');
export const CabinClass = t.literal('business', 'economy', 'basic_economy');
export const Insurance = t.literal('yes', 'no');

export const AirportCode = model('AirportCode', [field('iata', t.str(), 'IATA code'), field('city', t.str(), 'City name')]);

export const Name = model('Name', [
  field('first_name', t.str(), "The person's first name"),
  field('last_name', t.str(), "The person's last name"),
]);

export const Address = model('Address', [
  field('address1', t.str(), 'Primary address line'),
  optField('address2', t.optional(t.str()), null, 'Secondary address line (optional)'),
  field('city', t.str(), 'City name'),
  field('country', t.str(), 'Country name'),
  field('state', t.str(), 'State or province name'),
  field('zip', t.str(), 'Postal code'),
]);

export const Payment = model('Payment', [
  field('payment_id', t.str(), 'Unique identifier for the payment'),
  field('amount', t.int(), 'Payment amount in dollars'),
]);

export const CreditCard = model('CreditCard', [
  field('source', t.literal('credit_card'), 'Indicates this is a credit card payment method'),
  field('id', t.str(), 'Unique identifier for the payment method'),
  field('brand', t.str(), 'Credit card brand (e.g., visa, mastercard)'),
  field('last_four', t.str(), 'Last four digits of the credit card'),
]);

export const GiftCard = model('GiftCard', [
  field('source', t.literal('gift_card'), 'Indicates this is a gift card payment method'),
  field('id', t.str(), 'Unique identifier for the gift card'),
  field('amount', t.float(), 'Gift card value amount'),
]);

export const Certificate = model('Certificate', [
  field('source', t.literal('certificate'), 'Indicates this is a certificate payment method'),
  field('id', t.str(), 'Unique identifier for the payment method'),
  field('amount', t.float(), 'Certificate value amount'),
]);

export const PaymentMethod = t.union(t.model(CreditCard), t.model(GiftCard), t.model(Certificate));

export const Passenger = model('Passenger', [
  field('first_name', t.str(), "Passenger's first name"),
  field('last_name', t.str(), "Passenger's last name"),
  field('dob', t.str(), 'Date of birth in YYYY-MM-DD format'),
]);

const seats = t.dict(t.int());

const est = (what: string, ex: string) => `${what} in EST in the format YYYY-MM-DDTHH:MM:SS, e.g 2024-05-15T${ex}`;

export const FlightDateStatusAvailable = model('FlightDateStatusAvailable', [
  field('status', t.literal('available'), 'Indicates flight is available for booking'),
  field('available_seats', seats, 'Available seats by class'),
  field('prices', seats, 'Current prices by class'),
]);
const FlightDateStatusLanded = model('FlightDateStatusLanded', [
  field('status', t.literal('landed'), 'Indicates flight has landed'),
  field('actual_departure_time_est', t.str(), est('Actual departure time', '06:04:00')),
  field('actual_arrival_time_est', t.str(), est('Actual arrival time', '07:30:00')),
]);
const FlightDateStatusCancelled = model('FlightDateStatusCancelled', [
  field('status', t.literal('cancelled'), 'Indicates flight was cancelled'),
]);
const FlightDateStatusDelayed = model('FlightDateStatusDelayed', [
  field('status', t.literal('delayed'), 'Indicates flight was delayed'),
  field('estimated_departure_time_est', t.str(), est('Estimated departure time', '06:04:00')),
  field('estimated_arrival_time_est', t.str(), est('Estimated arrival time', '07:30:00')),
]);
const FlightDataStatusFlying = model('FlightDataStatusFlying', [
  field('status', t.literal('flying'), 'Indicates flight is in flight'),
  field('actual_departure_time_est', t.str(), est('Actual departure time', '06:04:00')),
  field('estimated_arrival_time_est', t.str(), est('Estimated arrival time', '07:30:00')),
]);
const FlightDataStatusOnTime = model('FlightDataStatusOnTime', [
  field('status', t.literal('on time'), 'Indicates flight is on time'),
  field('estimated_departure_time_est', t.str(), est('Estimated departure time', '06:04:00')),
  field('estimated_arrival_time_est', t.str(), est('Estimated arrival time', '07:30:00')),
]);

export const FlightDateStatus = t.union(
  t.model(FlightDateStatusAvailable),
  t.model(FlightDateStatusLanded),
  t.model(FlightDateStatusCancelled),
  t.model(FlightDateStatusDelayed),
  t.model(FlightDataStatusFlying),
  t.model(FlightDataStatusOnTime),
);

const flightBase = [
  field('flight_number', t.str(), 'Unique flight identifier'),
  field('origin', t.str(), 'IATA code for origin airport'),
  field('destination', t.str(), 'IATA code for destination airport'),
];

export const Flight = model('Flight', [
  ...flightBase,
  field('scheduled_departure_time_est', t.str(), 'Scheduled departure time in EST in the format HH:MM:SS, e.g 06:00:00'),
  field('scheduled_arrival_time_est', t.str(), 'Scheduled arrival time in EST in the format HH:MM:SS, e.g 07:00:00'),
  field('dates', t.dict(FlightDateStatus), 'Flight status by date (YYYY-MM-DD)'),
]);

export const DirectFlight = model('DirectFlight', [
  ...flightBase,
  field('status', t.literal('available'), 'Indicates flight is available for booking'),
  field('scheduled_departure_time_est', t.str(), 'Scheduled departure time in EST in the format HH:MM:SS, e.g 06:00:00'),
  field('scheduled_arrival_time_est', t.str(), 'Scheduled arrival time in EST in the format HH:MM:SS, e.g 07:00:00'),
  optField('date', t.optional(t.str()), null, 'Flight date in YYYY-MM-DD format'),
  field('available_seats', seats, 'Available seats by class'),
  field('prices', seats, 'Current prices by class'),
]);

export const ReservationFlight = model('ReservationFlight', [
  ...flightBase,
  field('date', t.str(), 'Flight date in YYYY-MM-DD format'),
  field('price', t.int(), 'Flight price in dollars.'),
]);

export const FlightInfo = model('FlightInfo', [
  field('flight_number', t.str(), "Flight number, such as 'HAT001'."),
  field('date', t.str(), "The date for the flight in the format 'YYYY-MM-DD', such as '2024-05-01'."),
]);

export const User = model('User', [
  field('user_id', t.str(), 'Unique identifier for the user'),
  field('name', t.model(Name), "User's full name"),
  field('address', t.model(Address), "User's address information"),
  field('email', t.str(), "User's email address"),
  field('dob', t.str(), "User's date of birth in the format YYYY-MM-DD, e.g 1990-04-05"),
  field('payment_methods', t.dict(PaymentMethod), "User's saved payment methods"),
  field('saved_passengers', t.list(t.model(Passenger)), "User's saved passenger information"),
  field('membership', t.literal('gold', 'silver', 'regular'), "User's membership level"),
  field('reservations', t.list(t.str()), "List of user's reservation IDs"),
]);

export const Reservation = model('Reservation', [
  field('reservation_id', t.str(), 'Unique identifier for the reservation'),
  field('user_id', t.str(), 'ID of the user who made the reservation'),
  field('origin', t.str(), 'IATA code for trip origin'),
  field('destination', t.str(), 'IATA code for trip destination'),
  field('flight_type', FlightType, 'Type of trip'),
  field('cabin', CabinClass, 'Selected cabin class'),
  field('flights', t.list(t.model(ReservationFlight)), 'List of flights in the reservation'),
  field('passengers', t.list(t.model(Passenger)), 'List of passengers on the reservation'),
  field('payment_history', t.list(t.model(Payment)), 'History of payments for this reservation'),
  field('created_at', t.str(), 'Timestamp when reservation was created in the format YYYY-MM-DDTHH:MM:SS'),
  field('total_baggages', t.int(), 'Total number of bags in reservation'),
  field('nonfree_baggages', t.int(), 'Number of paid bags in reservation'),
  field('insurance', Insurance, 'Whether travel insurance was purchased'),
  optField('status', t.optional(t.literal('cancelled')), null, 'Status of the reservation'),
]);

export const FlightDB = model(
  'FlightDB',
  [
    field('flights', t.dict(t.model(Flight)), 'Dictionary of all flights indexed by flight number'),
    field('users', t.dict(t.model(User)), 'Dictionary of all users indexed by user ID'),
    field('reservations', t.dict(t.model(Reservation)), 'Dictionary of all reservations indexed by reservation ID'),
  ],
  { extra: 'forbid', description: 'Database of all flights, users, and reservations.' },
);

// TypeScript views of the validated data (numbers: int = number, float = PyFloat).
export type Num = number | PyFloat;
export interface PaymentRec {
  payment_id: string;
  amount: Num;
}
export interface PaymentMethodRec {
  source: string;
  id: string;
  brand?: string;
  last_four?: string;
  amount?: Num;
}
export interface PassengerRec {
  first_name: string;
  last_name: string;
  dob: string;
}
export interface DateStatusRec {
  status: string;
  available_seats?: Record<string, Num>;
  prices?: Record<string, Num>;
  [k: string]: unknown;
}
export interface FlightRec {
  flight_number: string;
  origin: string;
  destination: string;
  scheduled_departure_time_est: string;
  scheduled_arrival_time_est: string;
  dates: Record<string, DateStatusRec>;
}
export interface ReservationFlightRec {
  flight_number: string;
  origin: string;
  destination: string;
  date: string;
  price: Num;
}
export interface UserRec {
  user_id: string;
  name: { first_name: string; last_name: string };
  address: Record<string, string | null>;
  email: string;
  dob: string;
  payment_methods: Record<string, PaymentMethodRec>;
  saved_passengers: PassengerRec[];
  membership: string;
  reservations: string[];
}
export interface ReservationRec {
  reservation_id: string;
  user_id: string;
  origin: string;
  destination: string;
  flight_type: string;
  cabin: string;
  flights: ReservationFlightRec[];
  passengers: unknown[];
  payment_history: PaymentRec[];
  created_at: string;
  total_baggages: unknown;
  nonfree_baggages: unknown;
  insurance: string;
  status: string | null;
}
export interface FlightDbData {
  flights: Record<string, FlightRec>;
  users: Record<string, UserRec>;
  reservations: Record<string, ReservationRec>;
}
