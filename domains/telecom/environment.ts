// The telecom environment: both toolkits plus the state propagation between the carrier's records
// (agent DB) and the customer's phone (user DB), run after every step, tool call and env function.
import { Environment, type EnvironmentOptions } from '../core/environment.ts';
import type { Toolkit } from '../core/tool.ts';
import { construct } from '../core/schema.ts';
import { numValue } from '../pycompat/pyjson.ts';
import { pyAdd } from '../pycompat/pynum.ts';
import { billsAwaitingPayment, customerByPhone, lineByPhone, planById, setBillPaid, type TelecomData } from './agent-tools.ts';
import type { PaymentRequest, TelecomUserData } from './device.ts';
import { PaymentRequestModel } from './models.ts';

export class TelecomEnvironment extends Environment {
  constructor(opts: EnvironmentOptions) {
    super(opts);
  }

  override syncTools(): void {
    const agentKit = this.tools as Toolkit<TelecomData> | undefined;
    const userKit = this.userTools as Toolkit<TelecomUserData> | undefined;
    if (!agentKit || !userKit) return;
    const db = agentKit.db.data;
    const user = userKit.db.data;
    const phone = user.surroundings.phone_number;
    if (phone === null || phone === undefined) return;

    const line = lineByPhone(db, phone);
    user.surroundings.line_active = line.status === 'Active';
    user.surroundings.roaming_allowed = line.roaming_enabled;
    const plan = planById(db, line.plan_id);
    user.surroundings.mobile_data_usage_exceeded =
      numValue(line.data_used_gb) >= numValue(pyAdd(plan.data_limit_gb, line.data_refueling_gb));

    // A request the customer paid settles its bill.
    const req = user.surroundings.payment_request;
    if (req && req.paid) {
      setBillPaid(db, req.bill_id);
      user.surroundings.payment_request = null;
    }
    // A bill awaiting payment reaches the phone as a payment request (one at a time).
    if (user.surroundings.payment_request === null) {
      const awaiting = billsAwaitingPayment(db, customerByPhone(db, phone));
      if (awaiting.length) {
        user.surroundings.payment_request = construct<PaymentRequest>(PaymentRequestModel, {
          bill_id: awaiting[0].bill_id,
          amount_due: awaiting[0].total_due,
        });
      }
    }
  }
}
