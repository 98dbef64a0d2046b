/** Retail DB models (τ² `RetailDB`), field order as the reference's pydantic models. */
import type { PyFloat } from '../pycompat/pyjson.ts';
import { field, model, optField, t } from '../core/schema.ts';

export const Variant = model(
  'Variant',
  [
    field('item_id', t.str(), 'Unique identifier for the variant'),
    field('options', t.dict(t.str()), "Dictionary of option names to values (e.g. {'color': 'blue', 'size': 'large'})"),
    field('available', t.bool(), 'Whether this variant is currently in stock'),
    field('price', t.float(), 'Price of this variant'),
  ],
  { description: 'Represents a specific variant of a product with its options, availability and price' },
);

export const Product = model(
  'Product',
  [
    field('name', t.str(), 'Name of the product'),
    field('product_id', t.str(), 'Unique identifier for the product'),
    field('variants', t.dict(t.model(Variant)), 'Dictionary of variants indexed by variant ID'),
  ],
  { description: 'Represents a product with its variants' },
);

export const UserName = model('UserName', [
  field('first_name', t.str(), "User's first name"),
  field('last_name', t.str(), "User's last name"),
]);

export const UserAddress = model(
  'UserAddress',
  [
    field('address1', t.str(), 'Primary address line'),
    field('address2', t.str(), 'Secondary address line'),
    field('city', t.str(), 'City name'),
    field('country', t.str(), 'Country name'),
    field('state', t.str(), 'State or province name'),
    field('zip', t.str(), 'Postal code'),
  ],
  { description: 'Represents a physical address' },
);

const CreditCard = model('CreditCard', [
  field('source', t.literal('credit_card')),
  field('id', t.str()),
  field('brand', t.str()),
  field('last_four', t.str()),
]);
const Paypal = model('Paypal', [field('source', t.literal('paypal')), field('id', t.str())]);
const GiftCard = model('GiftCard', [field('source', t.literal('gift_card')), field('id', t.str()), field('balance', t.float())]);

export const PaymentMethod = t.union(t.model(CreditCard), t.model(GiftCard), t.model(Paypal));

export const User = model('User', [
  field('user_id', t.str()),
  field('name', t.model(UserName)),
  field('address', t.model(UserAddress)),
  field('email', t.str()),
  field('payment_methods', t.dict(PaymentMethod)),
  field('orders', t.list(t.str())),
]);

const OrderFullfilment = model('OrderFullfilment', [field('tracking_id', t.list(t.str())), field('item_ids', t.list(t.str()))]);

export const OrderItem = model('OrderItem', [
  field('name', t.str()),
  field('product_id', t.str()),
  field('item_id', t.str()),
  field('price', t.float()),
  field('options', t.dict(t.str())),
]);

export const OrderPayment = model('OrderPayment', [
  field('transaction_type', t.literal('payment', 'refund')),
  field('amount', t.float()),
  field('payment_method_id', t.str()),
]);

export const OrderStatus = t.literal(
  'processed',
  'pending',
  'pending (item modified)',
  'delivered',
  'cancelled',
  'exchange requested',
  'return requested',
);

export const Order = model('Order', [
  field('order_id', t.str()),
  field('user_id', t.str()),
  field('address', t.model(UserAddress)),
  field('items', t.list(t.model(OrderItem))),
  field('status', OrderStatus),
  field('fulfillments', t.list(t.model(OrderFullfilment))),
  field('payment_history', t.list(t.model(OrderPayment))),
  optField('cancel_reason', t.optional(t.literal('no longer needed', 'ordered by mistake')), null),
  optField('exchange_items', t.optional(t.list(t.str())), null),
  optField('exchange_new_items', t.optional(t.list(t.str())), null),
  optField('exchange_payment_method_id', t.optional(t.str()), null),
  optField('exchange_price_difference', t.optional(t.float()), null),
  optField('return_items', t.optional(t.list(t.str())), null),
  optField('return_payment_method_id', t.optional(t.str()), null),
]);

export const RetailDB = model(
  'RetailDB',
  [field('products', t.dict(t.model(Product))), field('users', t.dict(t.model(User))), field('orders', t.dict(t.model(Order)))],
  { extra: 'forbid', description: 'Database containing all retail-related data including products, users and orders' },
);

export type Num = number | PyFloat;
export interface VariantRec {
  item_id: string;
  options: Record<string, string>;
  available: boolean;
  price: Num;
}
export interface ProductRec {
  name: string;
  product_id: string;
  variants: Record<string, VariantRec>;
}
export interface PaymentMethodRec {
  source: string;
  id: string;
  balance?: Num;
}
export interface RetailUserRec {
  user_id: string;
  name: { first_name: string; last_name: string };
  address: Record<string, string>;
  email: string;
  payment_methods: Record<string, PaymentMethodRec>;
  orders: string[];
}
export interface OrderItemRec {
  name: string;
  product_id: string;
  item_id: string;
  price: Num;
  options: Record<string, string>;
}
export interface OrderPaymentRec {
  transaction_type: string;
  amount: Num;
  payment_method_id: string;
}
export interface OrderRec {
  order_id: string;
  user_id: string;
  address: Record<string, string>;
  items: OrderItemRec[];
  status: string;
  fulfillments: unknown[];
  payment_history: OrderPaymentRec[];
  cancel_reason: unknown;
  exchange_items: unknown;
  exchange_new_items: unknown;
  exchange_payment_method_id: unknown;
  exchange_price_difference: unknown;
  return_items: unknown;
  return_payment_method_id: unknown;
}
export interface RetailDbData {
  products: Record<string, ProductRec>;
  users: Record<string, RetailUserRec>;
  orders: Record<string, OrderRec>;
}
