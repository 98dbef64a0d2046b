// Telecom agent toolkit (τ²'s TelecomTools): customer/line/bill lookups, line suspension and
// resumption, payment requests, roaming, data refuelling, plus the environment-only functions
// tasks use for setup (`set_data_usage`, `suspend_line_for_overdue_bill`) and checks (`assert_*`).
import { createHash } from 'node:crypto';
import { PyFloat, numValue, pyStr, type PyValue } from '../pycompat/pyjson.ts';
import { formatFixed2, numStr, pyAdd, pyMul, type PyNum } from '../pycompat/pynum.ts';
import { construct, field, optField, pyTypeName, t } from '../core/schema.ts';
import { PyError, asModel, fail, type EnvFunctionDef, type ToolDef, type Toolkit, type ToolkitSpec } from '../core/tool.ts';
import { TRANSFER_TO_HUMAN_AGENTS } from '../core/common-tools.ts';
import { TODAY, addDays, firstOfMonth, firstOfNextMonth, lastOfPreviousMonth } from './dates.ts';
import { BillModel, LineItemModel, type BillStatus, type LineStatus } from './models.ts';

// ---- data shapes (plain objects in model field order) ----------------------------------------

export interface Plan {
  plan_id: string;
  name: string;
  data_limit_gb: PyNum;
  price_per_month: PyNum;
  data_refueling_price_per_gb: PyNum;
}
export interface Line {
  line_id: string;
  phone_number: string;
  status: LineStatus;
  plan_id: string;
  device_id: string | null;
  data_used_gb: PyNum;
  data_refueling_gb: PyNum;
  roaming_enabled: boolean;
  contract_end_date: string | null;
  last_plan_change_date: string | null;
  last_sim_replacement_date: string | null;
  suspension_start_date: string | null;
}
export interface LineItem {
  description: string;
  amount: PyNum;
  date: string;
  item_type: string;
}
export interface Bill {
  bill_id: string;
  customer_id: string;
  period_start: string;
  period_end: string;
  issue_date: string;
  total_due: PyNum;
  due_date: string;
  line_items: LineItem[];
  status: BillStatus;
}
export interface Customer {
  customer_id: string;
  full_name: string;
  date_of_birth: string;
  email: string;
  phone_number: string;
  address: Record<string, string>;
  account_status: string;
  payment_methods: Record<string, string>[];
  line_ids: string[];
  bill_ids: string[];
  created_at: string;
  last_extension_date: string | null;
  goodwill_credit_used_this_year: PyNum;
}
export interface TelecomData {
  plans: Plan[];
  customers: Customer[];
  lines: Line[];
  bills: Bill[];
  devices: Record<string, PyValue>[];
}

// ---- lookups (shared with the environment's sync) ---------------------------------------------

export function customerById(db: TelecomData, id: unknown): Customer {
  const c = db.customers.find((x) => x.customer_id === id);
  if (!c) fail(`Customer with ID ${pyStr(id)} not found`);
  return c;
}

export function lineById(db: TelecomData, id: unknown): Line {
  const l = db.lines.find((x) => x.line_id === id);
  if (!l) fail(`Line with ID ${pyStr(id)} not found`);
  return l;
}

export function lineByPhone(db: TelecomData, phone: unknown): Line {
  const l = db.lines.find((x) => x.phone_number === phone);
  if (!l) fail(`Line with phone number ${pyStr(phone)} not found`);
  return l;
}

export function planById(db: TelecomData, id: unknown): Plan {
  const p = db.plans.find((x) => x.plan_id === id);
  if (!p) fail(`Plan with ID ${pyStr(id)} not found`);
  return p;
}

export function billById(db: TelecomData, id: unknown): Bill {
  const b = db.bills.find((x) => x.bill_id === id);
  if (!b) fail(`Bill with ID ${pyStr(id)} not found`);
  return b;
}

function deviceById(db: TelecomData, id: unknown): Record<string, PyValue> {
  const d = db.devices.find((x) => x.device_id === id);
  if (!d) fail(`Device with ID ${pyStr(id)} not found`);
  return d;
}

/** First customer whose primary phone, or one of whose lines, has this number. */
export function customerByPhone(db: TelecomData, phone: unknown): Customer {
  for (const c of db.customers) {
    if (c.phone_number === phone) return c;
    for (const lid of c.line_ids) if (lineById(db, lid).phone_number === phone) return c;
  }
  fail(`Customer with phone number ${pyStr(phone)} not found`);
}

/** The customer's line, checking ownership first. */
function targetLine(db: TelecomData, customerId: unknown, lineId: unknown): Line {
  const c = customerById(db, customerId);
  if (!c.line_ids.includes(lineId as string)) fail(`Line ${pyStr(lineId)} not found for customer ${pyStr(customerId)}`);
  return lineById(db, lineId);
}

export function billsAwaitingPayment(db: TelecomData, c: Customer): Bill[] {
  return c.bill_ids.map((id) => billById(db, id)).filter((b) => b.status === 'Awaiting Payment');
}

/** Python's `<=`/`<` on numbers; other operand types raise the TypeError Python would. */
function numericOperand(x: unknown, op: string): number {
  if (typeof x === 'number' || typeof x === 'boolean' || x instanceof PyFloat) return numValue(x);
  throw new PyError(`'${op}' not supported between instances of '${pyTypeName(x)}' and 'int'`, 'TypeError');
}

function asNum(x: unknown, what: string): PyNum {
  if (typeof x === 'number' || typeof x === 'boolean' || x instanceof PyFloat) return x;
  throw new PyError(`unsupported operand type(s) for ${what}: '${pyTypeName(x)}'`, 'TypeError');
}

// ---- refuel charges ----------------------------------------------------------------------------

/**
 * Id of a draft bill created by a refuel charge. τ² draws `B` + 8 random hex digits; Troupe derives
 * them from the customer and how many bills they already have, so replays are reproducible. No
 * grade reads this id (telecom grades on env assertions), only the DB hash does.
 */
function draftBillId(customer: Customer): string {
  return 'B' + createHash('sha256').update(`draft:${customer.customer_id}:${customer.bill_ids.length}`).digest('hex').slice(0, 8);
}

/** Adds a charge (or credit) line item to the customer's draft bill, creating next month's draft if needed. */
function applyOneTimeCharge(db: TelecomData, customerId: unknown, amount: PyNum, description: string): void {
  const customer = customerById(db, customerId);
  let draft = customer.bill_ids.map((id) => billById(db, id)).find((b) => b.status === 'Draft');
  if (!draft) {
    const start = firstOfNextMonth(TODAY);
    draft = construct<Bill>(BillModel, {
      bill_id: draftBillId(customer),
      customer_id: customerId,
      period_start: start,
      period_end: addDays(firstOfNextMonth(start), -1),
      issue_date: start,
      total_due: 0,
      due_date: addDays(start, 14),
      status: 'Draft',
    });
    db.bills.push(draft);
    customer.bill_ids.push(draft.bill_id);
  }
  draft.line_items.push(
    construct<LineItem>(LineItemModel, {
      description,
      amount,
      date: TODAY,
      item_type: numValue(amount) < 0 ? 'Credit' : 'Charge',
    }),
  );
  draft.total_due = pyAdd(draft.total_due, amount);
}

// ---- tools -------------------------------------------------------------------------------------

const customerIdParam = (what: string) => field('customer_id', t.str(), what);

export const TELECOM_AGENT_TOOLS: ToolDef<TelecomData>[] = [
  {
    name: 'get_customer_by_phone',
    type: 'read',
    short: 'Finds a customer by their primary contact or line phone number.',
    params: [field('phone_number', t.str(), 'The phone number to search for.')],
    run: (db, a) => asModel(customerByPhone(db, a.phone_number)),
  },
  {
    name: 'get_customer_by_id',
    type: 'read',
    short: 'Retrieves a customer directly by their unique ID.',
    params: [customerIdParam('The unique identifier of the customer.')],
    run: (db, a) => asModel(customerById(db, a.customer_id)),
  },
  {
    name: 'get_customer_by_name',
    type: 'read',
    short: 'Searches for customers by name and DOB. May return multiple matches if names are similar,',
    long: 'DOB helps disambiguate.',
    params: [
      field('full_name', t.str(), 'The full name of the customer.'),
      field('dob', t.str(), 'Date of birth for verification, in the format YYYY-MM-DD.'),
    ],
    run(db, a) {
      if (typeof a.full_name !== 'string') throw new PyError(`'${pyTypeName(a.full_name)}' object has no attribute 'lower'`, 'AttributeError');
      const wanted = a.full_name.toLowerCase();
      return db.customers.filter((c) => c.full_name.toLowerCase() === wanted && c.date_of_birth === a.dob).map(asModel);
    },
  },
  {
    name: 'get_details_by_id',
    type: 'read',
    short: 'Retrieves the details for a given ID.',
    long: 'The ID must be a valid ID for a Customer, Line, Device, Bill, or Plan.',
    params: [field('id', t.str(), 'The ID of the object to retrieve.')],
    run(db, a) {
      const id = a.id;
      if (typeof id !== 'string') throw new PyError(`'${pyTypeName(id)}' object has no attribute 'startswith'`, 'AttributeError');
      if (id.startsWith('L')) return asModel(lineById(db, id));
      if (id.startsWith('D')) return asModel(deviceById(db, id));
      if (id.startsWith('B')) return asModel(billById(db, id));
      if (id.startsWith('C')) return asModel(customerById(db, id));
      if (id.startsWith('P')) return asModel(planById(db, id));
      fail(`Unknown ID format or type: ${id}`);
    },
  },
  {
    name: 'suspend_line',
    type: 'write',
    short: 'Suspends a specific line (max 6 months).',
    long: 'Checks: Line status must be Active.\nLogic: Sets line status to Suspended, records suspension_start_date.',
    params: [
      customerIdParam('ID of the customer who owns the line.'),
      field('line_id', t.str(), 'ID of the line to suspend.'),
      field('reason', t.str(), 'Reason for suspension.'),
    ],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      if (line.status !== 'Active') fail('Line must be active to suspend');
      line.status = 'Suspended';
      line.suspension_start_date = TODAY;
      return { message: 'Line suspended successfully. $5/month holding fee will apply.', line: asModel(line) };
    },
  },
  {
    name: 'resume_line',
    type: 'write',
    short: 'Resumes a suspended line.',
    long: 'Checks: Line status must be Suspended or Pending Activation.\nLogic: Sets line status to Active, clears suspension_start_date.',
    params: [customerIdParam('ID of the customer who owns the line.'), field('line_id', t.str(), 'ID of the line to resume.')],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      if (line.status !== 'Suspended' && line.status !== 'Pending Activation') fail('Line must be suspended to resume');
      line.status = 'Active';
      line.suspension_start_date = null;
      return { message: 'Line resumed successfully', line: asModel(line) };
    },
  },
  {
    name: 'get_bills_for_customer',
    type: 'read',
    short: "Retrieves a list of the customer's bills, most recent first.",
    params: [customerIdParam('ID of the customer.'), optField('limit', t.int(), 12, 'Maximum number of bills to return.')],
    run(db, a) {
      const c = customerById(db, a.customer_id);
      const bills = c.bill_ids.map((id) => billById(db, id));
      // Stable, newest issue date first (Python's sorted(reverse=True) keeps ties in order).
      const sorted = bills.map((b, i) => ({ b, i })).sort((x, y) => (x.b.issue_date < y.b.issue_date ? 1 : x.b.issue_date > y.b.issue_date ? -1 : x.i - y.i));
      let limit: number;
      if (a.limit === null) limit = sorted.length;
      else if ((typeof a.limit === 'number' && Number.isInteger(a.limit)) || typeof a.limit === 'boolean') limit = Number(a.limit);
      else throw new PyError('slice indices must be integers or None or have an __index__ method', 'TypeError');
      return sorted.slice(0, limit < 0 ? Math.max(0, sorted.length + limit) : limit).map((x) => asModel(x.b));
    },
  },
  {
    name: 'send_payment_request',
    type: 'write',
    short: 'Sends a payment request to the customer for a specific bill.',
    long:
      'Checks:\n    - Customer exists\n    - Bill exists and belongs to the customer\n    - No other bills are already awaiting payment for this customer\n' +
      'Logic: Sets bill status to AWAITING_PAYMENT and notifies customer.\nWarning: This method does not check if the bill is already PAID.\n' +
      'Always check the bill status before calling this method.',
    params: [customerIdParam('ID of the customer who owns the bill.'), field('bill_id', t.str(), 'ID of the bill to send payment request for.')],
    run(db, a) {
      const c = customerById(db, a.customer_id);
      if (billsAwaitingPayment(db, c).length !== 0) fail('A bill is already awaiting payment for this customer');
      if (!c.bill_ids.includes(a.bill_id as string)) fail(`Bill ${pyStr(a.bill_id)} not found for customer ${pyStr(a.customer_id)}`);
      const bill = billById(db, a.bill_id);
      bill.status = 'Awaiting Payment';
      return `Payment request sent to the customer for bill ${bill.bill_id}`;
    },
  },
  {
    name: 'get_data_usage',
    type: 'read',
    short: 'Retrieves current billing cycle data usage for a line, including data',
    long: 'refueling amount, data limit, and cycle end date.',
    params: [customerIdParam('ID of the customer who owns the line.'), field('line_id', t.str(), 'ID of the line to check usage for.')],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      const plan = planById(db, line.plan_id);
      return {
        line_id: a.line_id,
        data_used_gb: line.data_used_gb,
        data_limit_gb: plan.data_limit_gb,
        data_refueling_gb: line.data_refueling_gb,
        cycle_end_date: addDays(firstOfNextMonth(TODAY), -1),
      };
    },
  },
  {
    name: 'enable_roaming',
    type: 'write',
    short: 'Enables international roaming on a line.',
    params: [customerIdParam('ID of the customer who owns the line.'), field('line_id', t.str(), 'ID of the line to enable roaming for.')],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      if (line.roaming_enabled) return 'Roaming was already enabled';
      line.roaming_enabled = true;
      return 'Roaming enabled successfully';
    },
  },
  {
    name: 'disable_roaming',
    type: 'write',
    short: 'Disables international roaming on a line.',
    params: [customerIdParam('ID of the customer who owns the line.'), field('line_id', t.str(), 'ID of the line to disable roaming for.')],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      if (!line.roaming_enabled) return 'Roaming was already disabled';
      line.roaming_enabled = false;
      return 'Roaming disabled successfully';
    },
  },
  TRANSFER_TO_HUMAN_AGENTS as ToolDef<TelecomData>,
  {
    name: 'refuel_data',
    type: 'write',
    short: 'Refuels data for a specific line, adding to the customer\'s bill.',
    long: "Checks: Line status must be Active, Customer owns the line.\nLogic: Adds data to the line and charges customer based on the plan's refueling rate.",
    params: [
      customerIdParam('ID of the customer who owns the line.'),
      field('line_id', t.str(), 'ID of the line to refuel data for.'),
      field('gb_amount', t.float(), 'Amount of data to add in gigabytes.'),
    ],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      // Despite the description, an inactive line is not refused (the reference's check is disabled).
      if (numericOperand(a.gb_amount, '<=') <= 0) fail('Refuel amount must be positive');
      const gb = asNum(a.gb_amount, '*');
      const plan = planById(db, line.plan_id);
      const charge = pyMul(gb, plan.data_refueling_price_per_gb);
      line.data_refueling_gb = pyAdd(line.data_refueling_gb, gb);
      applyOneTimeCharge(db, a.customer_id, charge, `Data refueling: ${numStr(gb)} GB at $${numStr(plan.data_refueling_price_per_gb)}/GB`);
      return {
        message: `Successfully added ${numStr(gb)} GB of data for line ${pyStr(a.line_id)} for $${formatFixed2(charge)}`,
        new_data_refueling_gb: line.data_refueling_gb,
        charge,
      };
    },
  },
];

// ---- environment-only functions --------------------------------------------------------------

export const TELECOM_AGENT_FUNCTIONS: EnvFunctionDef<TelecomData>[] = [
  {
    name: 'set_data_usage',
    params: [field('customer_id', t.str()), field('line_id', t.str()), field('data_used_gb', t.float())],
    run(db, a) {
      const line = targetLine(db, a.customer_id, a.line_id);
      line.data_used_gb = a.data_used_gb as PyNum; // attribute assignment: stored raw
      return `Data usage set to ${pyStr(a.data_used_gb)} GB for line ${pyStr(a.line_id)}`;
    },
  },
  {
    name: 'suspend_line_for_overdue_bill',
    params: [field('customer_id', t.str()), field('line_id', t.str()), field('new_bill_id', t.str()), field('contract_ended', t.bool())],
    run(db, a) {
      const line = lineById(db, a.line_id);
      if (line.status !== 'Active') fail('Line must be active to suspend for unpaid bill');
      const plan = planById(db, line.plan_id);
      const amount = plan.price_per_month;
      if (numValue(amount) <= 0) fail('Amount must be positive for overdue bill');
      const customer = customerById(db, a.customer_id);
      if (customer.bill_ids.some((id) => billById(db, id).status === 'Overdue')) fail('Customer already has an overdue bill');
      const lastMonthEnd = lastOfPreviousMonth(TODAY);
      const lastMonthStart = firstOfMonth(lastMonthEnd);
      const bill = construct<Bill>(BillModel, {
        bill_id: a.new_bill_id,
        customer_id: a.customer_id,
        period_start: lastMonthStart,
        period_end: lastMonthEnd,
        issue_date: lastMonthStart,
        total_due: 0,
        due_date: addDays(lastMonthStart, 14),
        status: 'Overdue',
      });
      bill.line_items.push(construct<LineItem>(LineItemModel, { description: `Charge for line ${line.line_id}`, amount, date: TODAY, item_type: 'Charge' }));
      bill.total_due = pyAdd(bill.total_due, amount);
      db.bills.push(bill);
      customer.bill_ids.push(a.new_bill_id as string);
      line.status = 'Suspended';
      line.suspension_start_date = TODAY;
      if (a.contract_ended) line.contract_end_date = lastMonthEnd;
      return `Line ${pyStr(a.line_id)} suspended for unpaid bill ${pyStr(a.new_bill_id)}. Contract ended: ${pyStr(a.contract_ended)}`;
    },
  },
  {
    name: 'assert_data_refueling_amount',
    params: [field('customer_id', t.str()), field('line_id', t.str()), field('expected_amount', t.float())],
    run: (db, a) => Math.abs(numValue(targetLine(db, a.customer_id, a.line_id).data_refueling_gb) - numValue(a.expected_amount)) < 1e-6,
  },
  {
    name: 'assert_line_status',
    params: [field('customer_id', t.str()), field('line_id', t.str()), field('expected_status', t.str())],
    run: (db, a) => targetLine(db, a.customer_id, a.line_id).status === a.expected_status,
  },
  {
    name: 'assert_overdue_bill_exists',
    params: [field('customer_id', t.str()), field('overdue_bill_id', t.str())],
    run(db, a) {
      const c = customerById(db, a.customer_id);
      if (!c.bill_ids.includes(a.overdue_bill_id as string)) fail(`Overdue bill ${pyStr(a.overdue_bill_id)} not found`);
      if (billById(db, a.overdue_bill_id).status !== 'Overdue') fail(`Overdue bill ${pyStr(a.overdue_bill_id)} is not overdue`);
      return true;
    },
  },
  {
    name: 'assert_no_overdue_bill',
    params: [field('overdue_bill_id', t.str())],
    run(db, a) {
      const bill = db.bills.find((b) => b.bill_id === a.overdue_bill_id);
      return bill === undefined || bill.status === 'Paid';
    },
  },
];

export const TELECOM_AGENT_TOOLKIT: ToolkitSpec<TelecomData> = {
  className: 'TelecomTools',
  tools: TELECOM_AGENT_TOOLS,
  functions: TELECOM_AGENT_FUNCTIONS,
};

/** Marks a bill paid (the environment's sync does this when the user paid a request). */
export function setBillPaid(db: TelecomData, billId: string): void {
  billById(db, billId).status = 'Paid';
}

export type TelecomToolkit = Toolkit<TelecomData>;
