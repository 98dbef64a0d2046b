// Telecom agent tools against the real τ² telecom DB: results, error texts and quirks.
import { describe, expect, it } from 'vitest';
import { telecomDomain } from '../../domains/telecom/index.ts';
import type { TelecomData } from '../../domains/telecom/agent-tools.ts';
import type { Environment } from '../../domains/core/environment.ts';

const fresh = () => telecomDomain.createEnvironment();
let n = 0;
const call = (env: Environment, name: string, args: Record<string, unknown> = {}, requestor: 'assistant' | 'user' = 'assistant') =>
  env.getResponse({ id: `c${n++}`, name, arguments: args, requestor });
const db = (env: Environment) => env.tools!.db.data as TelecomData;

describe('telecom agent tools', () => {
  it('offers the 13 tools in the reference order', () => {
    expect(fresh().getTools().map((t) => t.name)).toEqual([
      'get_customer_by_phone', 'get_customer_by_id', 'get_customer_by_name', 'get_details_by_id', 'suspend_line', 'resume_line',
      'get_bills_for_customer', 'send_payment_request', 'get_data_usage', 'enable_roaming', 'disable_roaming',
      'transfer_to_human_agents', 'refuel_data',
    ]);
    const types = Object.fromEntries(fresh().getTools().map((t) => [t.name, t.type]));
    expect(types).toMatchObject({ suspend_line: 'write', refuel_data: 'write', get_data_usage: 'read', transfer_to_human_agents: 'generic' });
  });

  it('looks customers up by primary or line phone, by name case-insensitively with exact dob', () => {
    const env = fresh();
    expect(JSON.parse(call(env, 'get_customer_by_phone', { phone_number: '555-123-2002' }).content).customer_id).toBe('C1001');
    expect(JSON.parse(call(env, 'get_customer_by_phone', { phone_number: '555-123-2001' }).content).customer_id).toBe('C1001');
    expect(call(env, 'get_customer_by_phone', { phone_number: '5551232001' })).toMatchObject({
      error: true, content: 'Error: Customer with phone number 5551232001 not found',
    });
    expect(JSON.parse(call(env, 'get_customer_by_name', { full_name: 'jOHN smith', dob: '1985-06-15' }).content)).toHaveLength(1);
    expect(call(env, 'get_customer_by_name', { full_name: 'John Smith', dob: '1985-6-15' }).content).toBe('[]');
  });

  it('dispatches get_details_by_id on the first letter', () => {
    const env = fresh();
    expect(JSON.parse(call(env, 'get_details_by_id', { id: 'P1002' }).content).name).toBe('Premium Plan');
    expect(JSON.parse(call(env, 'get_details_by_id', { id: 'D1001' }).content).activation_date).toBe('2025-01-20 14:30:00');
    expect(call(env, 'get_details_by_id', { id: 'X1' }).content).toBe('Error: Unknown ID format or type: X1');
    expect(call(env, 'get_details_by_id', { id: 'L9999' }).content).toBe('Error: Line with ID L9999 not found');
    expect(call(env, 'get_details_by_id', {}).content).toBe(
      "Error: TelecomTools.get_details_by_id() missing 1 required positional argument: 'id'",
    );
    expect(call(env, 'no_such_tool').content).toBe("Error: Tool 'no_such_tool' not found.");
  });

  it('suspends and resumes lines with the reference checks', () => {
    const env = fresh();
    expect(call(env, 'suspend_line', { customer_id: 'C1001', line_id: 'L1004', reason: 'x' }).content).toBe('Error: Line L1004 not found for customer C1001');
    expect(call(env, 'suspend_line', { customer_id: 'C1001', line_id: 'L1003', reason: 'x' }).content).toBe('Error: Line must be active to suspend');
    const ok = JSON.parse(call(env, 'suspend_line', { customer_id: 'C1001', line_id: 'L1001', reason: 'travel' }).content);
    expect(ok.message).toBe('Line suspended successfully. $5/month holding fee will apply.');
    expect(ok.line).toMatchObject({ status: 'Suspended', suspension_start_date: '2025-02-25', data_used_gb: 3.2 });
    expect(call(env, 'resume_line', { customer_id: 'C1001', line_id: 'L1002' }).content).toBe('Error: Line must be suspended to resume');
    const resumed = JSON.parse(call(env, 'resume_line', { customer_id: 'C1001', line_id: 'L1003' }).content);
    expect(resumed.line).toMatchObject({ status: 'Active', suspension_start_date: null });
  });

  it('reports data usage with bare numbers as strings and the cycle end date', () => {
    const out = JSON.parse(call(fresh(), 'get_data_usage', { customer_id: 'C1001', line_id: 'L1002' }).content);
    expect(out).toEqual({ line_id: 'L1002', data_used_gb: '8.7', data_limit_gb: '15.0', data_refueling_gb: '0.0', cycle_end_date: '2025-02-28' });
  });

  it('lists bills newest first, honouring the limit', () => {
    const env = fresh();
    const bills = JSON.parse(call(env, 'get_bills_for_customer', { customer_id: 'C1001' }).content);
    expect(bills.map((b: { bill_id: string }) => b.bill_id)).toEqual(['B1003', 'B1002', 'B1001']);
    expect(JSON.parse(call(env, 'get_bills_for_customer', { customer_id: 'C1001', limit: 1 }).content)).toHaveLength(1);
  });

  it('toggles roaming with "already" messages', () => {
    const env = fresh();
    expect(call(env, 'enable_roaming', { customer_id: 'C1001', line_id: 'L1002' }).content).toBe('Roaming was already enabled');
    expect(call(env, 'disable_roaming', { customer_id: 'C1001', line_id: 'L1002' }).content).toBe('Roaming disabled successfully');
    expect(call(env, 'disable_roaming', { customer_id: 'C1001', line_id: 'L1002' }).content).toBe('Roaming was already disabled');
  });

  it('refuels onto the existing draft bill, keeping Python number types', () => {
    const env = fresh();
    expect(call(env, 'refuel_data', { customer_id: 'C1001', line_id: 'L1002', gb_amount: 0 }).content).toBe('Error: Refuel amount must be positive');
    const out = JSON.parse(call(env, 'refuel_data', { customer_id: 'C1001', line_id: 'L1002', gb_amount: 2 }).content);
    // an int amount prints as "2"; the charge is a float (2 * 2.0)
    expect(out).toEqual({ message: 'Successfully added 2 GB of data for line L1002 for $4.00', new_data_refueling_gb: '2.0', charge: '4.0' });
    const draft = db(env).bills.find((b) => b.bill_id === 'B1003')!;
    expect(draft.line_items.at(-1)).toMatchObject({ description: 'Data refueling: 2 GB at $2.0/GB', date: '2025-02-25', item_type: 'Charge' });
    expect(Number(draft.total_due)).toBe(4);
    expect(call(env, 'assert_data_refueling_amount' as string).error).toBe(true); // env functions are not tools
    expect(env.runEnvFunction({ env_type: 'assistant', func_name: 'assert_data_refueling_amount', arguments: { customer_id: 'C1001', line_id: 'L1002', expected_amount: 2.0 } })).toBe(true);
  });

  it('creates next month\'s draft bill when the customer has none, with a reproducible id', () => {
    const a = fresh();
    const b = fresh();
    for (const env of [a, b]) call(env, 'refuel_data', { customer_id: 'C1002', line_id: 'L1004', gb_amount: 1.5 });
    const draftA = db(a).bills.at(-1)!;
    expect(draftA).toMatchObject({ customer_id: 'C1002', period_start: '2025-03-01', period_end: '2025-03-31', issue_date: '2025-03-01', due_date: '2025-03-15', status: 'Draft' });
    expect(draftA.bill_id).toMatch(/^B[0-9a-f]{8}$/);
    expect(db(a).customers[1].bill_ids.at(-1)).toBe(draftA.bill_id);
    expect(a.agentDbHash()).toBe(b.agentDbHash());
  });

  it('sets up an overdue bill and suspension for the payment tasks', () => {
    const env = fresh();
    const run = (func_name: string, args: Record<string, unknown>) => env.runEnvFunction({ env_type: 'assistant', func_name, arguments: args });
    expect(run('suspend_line_for_overdue_bill', { customer_id: 'C1001', line_id: 'L1002', new_bill_id: 'B9999', contract_ended: false })).toBe(
      'Line L1002 suspended for unpaid bill B9999. Contract ended: False',
    );
    const bill = db(env).bills.find((b) => b.bill_id === 'B9999')!;
    expect(bill).toMatchObject({ period_start: '2025-01-01', period_end: '2025-01-31', issue_date: '2025-01-01', due_date: '2025-01-15', status: 'Overdue' });
    expect(Number(bill.total_due)).toBe(65);
    expect(run('assert_overdue_bill_exists', { customer_id: 'C1001', overdue_bill_id: 'B9999' })).toBe(true);
    expect(run('assert_no_overdue_bill', { overdue_bill_id: 'B9999' })).toBe(false);
    expect(run('assert_no_overdue_bill', { overdue_bill_id: 'B0000' })).toBe(true);
    expect(() => run('suspend_line_for_overdue_bill', { customer_id: 'C1001', line_id: 'L1001', new_bill_id: 'B9998', contract_ended: true })).toThrow(
      'Customer already has an overdue bill',
    );
  });
});
