// The simulated phone and the dual-control sync: network search, mobile data, speed, MMS, APN
// reset on reboot, VPN, payment requests, plus toolkit order, policy and splits.
import { describe, expect, it } from 'vitest';
import { telecomDomain, telecomWorkflowDomain } from '../../domains/telecom/index.ts';
import type { TelecomUserData } from '../../domains/telecom/device.ts';
import type { TelecomData } from '../../domains/telecom/agent-tools.ts';
import type { Environment } from '../../domains/core/environment.ts';

let n = 0;
const fresh = (phone = '555-123-2002') => {
  const env = telecomDomain.createEnvironment();
  fn(env, 'set_user_info', { name: 'John Smith', phone_number: phone });
  return env;
};
function fn(env: Environment, func_name: string, args: Record<string, unknown> = {}, env_type: 'user' | 'assistant' = 'user') {
  return env.runEnvFunction({ env_type, func_name, arguments: args });
}
const user = (env: Environment, name: string, args: Record<string, unknown> = {}) =>
  env.getResponse({ id: `u${n++}`, name, arguments: args, requestor: 'user' });
const agent = (env: Environment, name: string, args: Record<string, unknown> = {}) =>
  env.getResponse({ id: `a${n++}`, name, arguments: args, requestor: 'assistant' });
const phone = (env: Environment) => (env.userTools!.db.data as TelecomUserData).device;
const around = (env: Environment) => (env.userTools!.db.data as TelecomUserData).surroundings;
const assertUser = (env: Environment, func_name: string, args: Record<string, unknown>) =>
  env.runEnvAssertion({ env_type: 'user', func_name, arguments: args });

describe('telecom user toolkit', () => {
  it('offers the 30 user tools in the reference order; every write but make_payment ends with the status bar', () => {
    const env = fresh();
    const tools = env.getUserTools();
    expect(tools.map((t) => t.name)).toEqual([
      'check_status_bar', 'check_network_status', 'check_network_mode_preference', 'set_network_mode_preference', 'run_speed_test',
      'toggle_airplane_mode', 'check_sim_status', 'reseat_sim_card', 'toggle_data', 'toggle_roaming', 'check_data_restriction_status',
      'toggle_data_saver_mode', 'check_apn_settings', 'set_apn_settings', 'reset_apn_settings', 'check_wifi_status', 'toggle_wifi',
      'check_wifi_calling_status', 'toggle_wifi_calling', 'check_vpn_status', 'connect_vpn', 'disconnect_vpn', 'check_installed_apps',
      'check_app_status', 'check_app_permissions', 'grant_app_permission', 'can_send_mms', 'reboot_device', 'check_payment_request', 'make_payment',
    ]);
    const args: Record<string, Record<string, unknown>> = {
      set_network_mode_preference: { mode: '4g_only' },
      set_apn_settings: { apn_settings: { apn_name: 'internet' } },
      grant_app_permission: { app_name: 'messaging', permission: 'sms' },
    };
    for (const t of tools.filter((x) => x.type === 'write' && x.name !== 'make_payment' && x.name !== 'connect_vpn')) {
      expect(user(env, t.name, args[t.name] ?? {}).content, t.name).toMatch(/\nStatus Bar: .+$/);
    }
  });

  it('reports bad arguments the way Python would', () => {
    const env = fresh();
    const bad = user(env, 'set_apn_settings', { apn_settings: { apn_name: 'internet', colour: 'blue' } });
    expect(bad.error).toBe(true);
    expect(bad.content).toMatch(/^Error: 1 validation error for APNSettings\ncolour\n  Extra inputs are not permitted/);
    expect(user(env, 'set_apn_settings', { apn_settings: 'internet' }).content).toBe("Error: 'str' object has no attribute 'apn_name'");
    expect(user(env, 'grant_app_permission', { app_name: 'messaging', permission: 3 }).content).toBe("Error: 'int' object has no attribute 'lower'");
    expect(user(env, 'toggle_data', { now: true }).content).toBe("Error: TelecomUserTools.toggle_data() got an unexpected keyword argument 'now'");
    expect(user(env, 'check_app_status', { app_name: 'camera' }).content).toBe("No app named 'camera' is installed.");
  });

  it('starts connected on 5G with excellent speed (275 Mbps)', () => {
    const env = fresh();
    fn(env, 'simulate_network_search');
    expect(phone(env)).toMatchObject({ network_connection_status: 'connected', network_technology_connected: '5G', network_signal_strength: 'excellent' });
    expect(user(env, 'run_speed_test').content).toMatch(/^Speed Test Result: 275\.00 Mbps \(Excellent\)/);
    expect(assertUser(env, 'assert_internet_speed', { expected_speed: 200, expected_desc: 'excellent' })).toBe(true);
  });

  it('computes speed from technology, signal, data saver and a poor VPN', () => {
    const env = fresh();
    fn(env, 'simulate_network_search');
    user(env, 'toggle_data_saver_mode');
    expect(user(env, 'run_speed_test').content).toContain('55.00 Mbps (Good)');
    fn(env, 'break_vpn');
    expect(user(env, 'run_speed_test').content).toContain('5.50 Mbps (Fair)');
    user(env, 'toggle_data_saver_mode');
    user(env, 'set_network_mode_preference', { mode: '3g_only' });
    expect(phone(env)).toMatchObject({ network_technology_connected: '3G', network_signal_strength: 'fair' });
    expect(user(env, 'run_speed_test').content).toContain('0.15 Mbps (Very Poor)');
    user(env, 'disconnect_vpn');
    user(env, 'set_network_mode_preference', { mode: '2g_only' });
    expect(user(env, 'run_speed_test').content).toContain('0.05 Mbps (Very Poor)');
    expect(assertUser(env, 'assert_internet_not_excellent', {})).toBe(true);
  });

  it('rejects an unknown network mode with a message, leaving the phone as it was', () => {
    const env = fresh();
    const r = user(env, 'set_network_mode_preference', { mode: '5g_only' });
    expect(r.error).toBe(false);
    expect(r.content).toMatch(/^Failed to set network mode: '5g_only'/);
    expect(phone(env).network_mode_preference).toBe('4g_5g_preferred');
  });

  it('airplane mode cuts service, Wi-Fi and the VPN; toggling back searches again', () => {
    const env = fresh();
    user(env, 'toggle_wifi');
    user(env, 'connect_vpn');
    fn(env, 'turn_airplane_mode_on');
    expect(phone(env)).toMatchObject({ airplane_mode: true, network_connection_status: 'no_service', vpn_connected: false, vpn_details: null });
    expect(user(env, 'toggle_wifi').content).toMatch(/^Wi-Fi cannot be changed while Airplane Mode is ON/);
    expect(assertUser(env, 'assert_mobile_data_status', { expected_status: false })).toBe(true);
    user(env, 'toggle_airplane_mode');
    expect(phone(env)).toMatchObject({ airplane_mode: false, network_connection_status: 'connected', network_technology_connected: '5G' });
  });

  it('an APN reset only takes effect at reboot', () => {
    const env = fresh();
    fn(env, 'break_apn_settings');
    expect(phone(env).network_connection_status).toBe('no_service');
    user(env, 'reset_apn_settings');
    expect(phone(env)).toMatchObject({ network_connection_status: 'no_service', active_apn_settings: { apn_name: 'broken', reset_at_reboot: true } });
    user(env, 'reboot_device');
    expect(phone(env)).toMatchObject({ network_connection_status: 'connected', active_apn_settings: { apn_name: 'internet', reset_at_reboot: false } });
  });

  it('MMS needs data, 3G+, an MMSC, no Wi-Fi-calling MMS and the messaging permissions', () => {
    const env = fresh();
    fn(env, 'simulate_network_search');
    expect(assertUser(env, 'assert_can_send_mms', { expected_status: true })).toBe(true);
    fn(env, 'set_wifi_calling', { enabled: true, mms_over_wifi: true });
    expect(user(env, 'can_send_mms').content).toBe('Your messaging app cannot send MMS messages.');
    user(env, 'toggle_wifi_calling');
    expect(user(env, 'can_send_mms').content).toBe('Your messaging app can send MMS messages.');
    fn(env, 'remove_app_permission', { app_name: 'messaging', permission: 'storage' });
    expect(assertUser(env, 'assert_can_send_mms', { expected_status: false })).toBe(true);
    expect(user(env, 'grant_app_permission', { app_name: 'messaging', permission: 'camera' }).content).toMatch(/^Error\. /);
    user(env, 'grant_app_permission', { app_name: 'messaging', permission: 'STORAGE' });
    expect(assertUser(env, 'assert_can_send_mms', { expected_status: true })).toBe(true);
    fn(env, 'break_apn_mms_setting');
    expect(assertUser(env, 'assert_can_send_mms', { expected_status: false })).toBe(true);
    user(env, 'set_network_mode_preference', { mode: '2g_only' });
    user(env, 'reset_apn_settings');
    user(env, 'reboot_device');
    expect(assertUser(env, 'assert_can_send_mms', { expected_status: false })).toBe(true); // 2G
  });

  it('abroad, data needs the phone\'s roaming switch and the line\'s roaming (synced from the carrier)', () => {
    const env = fresh();
    fn(env, 'set_user_location', { abroad: true });
    fn(env, 'turn_roaming_off');
    expect(around(env).roaming_allowed).toBe(true); // L1002 has roaming enabled
    expect(assertUser(env, 'assert_mobile_data_status', { expected_status: false })).toBe(true);
    user(env, 'toggle_roaming');
    expect(assertUser(env, 'assert_mobile_data_status', { expected_status: true })).toBe(true);
    agent(env, 'disable_roaming', { customer_id: 'C1001', line_id: 'L1002' });
    expect(around(env).roaming_allowed).toBe(false);
    expect(assertUser(env, 'assert_mobile_data_status', { expected_status: false })).toBe(true);
  });

  it('data usage over the allowance stops data until a refuel', () => {
    const env = fresh();
    fn(env, 'set_data_usage', { customer_id: 'C1001', line_id: 'L1002', data_used_gb: 15.1 }, 'assistant');
    expect(assertUser(env, 'assert_mobile_data_usage_exceeded', { expected_status: true })).toBe(true);
    expect(user(env, 'run_speed_test').content).toMatch(/^Speed test failed/);
    agent(env, 'refuel_data', { customer_id: 'C1001', line_id: 'L1002', gb_amount: 2.0 });
    expect(around(env).mobile_data_usage_exceeded).toBe(false);
  });

  it('a suspended line loses service at the next network search, not before', () => {
    const env = fresh();
    fn(env, 'simulate_network_search');
    agent(env, 'suspend_line', { customer_id: 'C1001', line_id: 'L1002', reason: 'test' });
    expect(around(env).line_active).toBe(false);
    expect(phone(env).network_connection_status).toBe('connected');
    user(env, 'reboot_device');
    expect(phone(env).network_connection_status).toBe('no_service');
    expect(assertUser(env, 'assert_service_status', { expected_status: 'no_service' })).toBe(true);
    expect(() => assertUser(env, 'assert_service_status', { expected_status: 'offline' })).toThrow(/not a valid NetworkStatus/);
  });

  it('only some actions re-run the network search (turn_data_on, data saver, Wi-Fi calling, VPN, permissions do not)', () => {
    const env = fresh();
    fn(env, 'simulate_network_search');
    agent(env, 'suspend_line', { customer_id: 'C1001', line_id: 'L1002', reason: 'test' });
    // The line is inactive now; the phone notices only at its next network search.
    fn(env, 'turn_data_on');
    user(env, 'toggle_data_saver_mode');
    user(env, 'toggle_wifi_calling');
    user(env, 'connect_vpn');
    user(env, 'disconnect_vpn');
    fn(env, 'break_apn_mms_setting');
    user(env, 'grant_app_permission', { app_name: 'browser', permission: 'sms' });
    fn(env, 'break_vpn');
    expect(phone(env).network_connection_status).toBe('connected');
    user(env, 'toggle_data'); // searches
    expect(phone(env).network_connection_status).toBe('no_service');
  });

  it('a payment request reaches the phone, and paying it settles the bill', () => {
    const env = fresh();
    expect(user(env, 'make_payment').content).toBe('There is no payment request to pay.');
    agent(env, 'send_payment_request', { customer_id: 'C1001', bill_id: 'B1002' });
    expect(agent(env, 'send_payment_request', { customer_id: 'C1001', bill_id: 'B1001' }).content).toBe(
      'Error: A bill is already awaiting payment for this customer',
    );
    expect(around(env).payment_request).toMatchObject({ bill_id: 'B1002', paid: false });
    expect(Number(around(env).payment_request!.amount_due)).toBe(150);
    expect(user(env, 'make_payment').content).toBe('Paid 150.0 USD for bill B1002.');
    const bill = (env.tools!.db.data as TelecomData).bills.find((b) => b.bill_id === 'B1002')!;
    expect(bill.status).toBe('Paid');
    expect(around(env).payment_request).toBeNull();
  });

  it('break_vpn degrades the profile later connections reuse, in this environment only', () => {
    const env = fresh();
    fn(env, 'break_vpn');
    expect(phone(env).vpn_details?.server_performance).toBe('poor');
    user(env, 'disconnect_vpn');
    user(env, 'connect_vpn');
    expect(phone(env).vpn_details?.server_performance).toBe('poor');
    const other = fresh();
    user(other, 'connect_vpn');
    expect(phone(other).vpn_details?.server_performance).toBe('excellent');
  });

  it('the user DB dump has the reference structure', () => {
    const dump = fresh().userDbDump() as Record<string, Record<string, unknown>>;
    expect(Object.keys(dump)).toEqual(['device', 'surroundings']);
    expect(Object.keys(dump.surroundings)).toEqual([
      'name', 'phone_number', 'is_abroad', 'roaming_allowed', 'signal_strength', 'mobile_data_usage_exceeded', 'line_active', 'payment_request',
    ]);
    expect(dump.device.active_apn_settings).toEqual({
      apn_name: 'internet', reset_at_reboot: false, mms_apn: 'mms', mmsc_url: 'http://mms.carrier.com/mms/wapenc', mms_proxy: null, mms_port: null,
    });
  });
});

describe('telecom policy and tasks', () => {
  it('wraps the main policy and the tech-support manual or workflow in their tags', () => {
    const p = telecomDomain.policy();
    expect(p.startsWith('<main_policy>\n')).toBe(true);
    expect(p).toMatch(/\n<\/main_policy>\n<tech_support_policy>\n[\s\S]+\n<\/tech_support_policy>$/);
    expect(telecomWorkflowDomain.policy()).not.toBe(p);
    expect(telecomWorkflowDomain.createEnvironment().domainName).toBe('telecom-workflow');
  });

  it('has the base, small, train, test and full splits', () => {
    const s = telecomDomain.splits();
    expect(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.length]))).toMatchObject({ base: 114, small: 20, train: 74, test: 40, full: 2285 });
    const small = telecomDomain.loadTasks({ split: 'small' });
    expect(small.map((t) => t.id)).toEqual(s.small.filter((id) => small.some((t) => t.id === id)));
    expect(small).toHaveLength(20);
  });
});
