// Telecom data models: the agent-side TelecomDB (plans, customers, lines, bills, devices) and the
// user-side TelecomUserDB (the phone and its surroundings). Field names, order and defaults follow
// τ²'s pydantic models, so `dump()` has the reference's structure. Dates are ISO strings; datetime
// fields hold Python's `str(datetime)` form ("2025-01-20 14:30:00"), which is what τ²'s hash sees.
import { pyFloat } from '../pycompat/pyjson.ts';
import { construct, field, model, optField, t, type ModelDesc } from '../core/schema.ts';

const f0 = pyFloat(0);

export const LINE_STATUSES = ['Active', 'Suspended', 'Pending Activation', 'Closed'] as const;
export const BILL_STATUSES = ['Draft', 'Issued', 'Awaiting Payment', 'Paid', 'Overdue', 'Disputed'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];
export type BillStatus = (typeof BILL_STATUSES)[number];

export const AddressModel = model('Address', [
  field('street', t.str(), 'Street address including house/apartment number'),
  field('city', t.str(), 'City name'),
  field('state', t.str(), 'State or province code (e.g., CA, NY)'),
  field('zip_code', t.str(), 'Postal/ZIP code'),
], { extra: 'forbid' });

export const PlanModel = model('Plan', [
  field('plan_id', t.str(), 'Unique identifier for the plan'),
  field('name', t.str(), 'Display name of the plan'),
  field('data_limit_gb', t.float(), 'Monthly data allowance in gigabytes (GB)'),
  field('price_per_month', t.float(), 'Monthly price of the plan in USD'),
  field('data_refueling_price_per_gb', t.float(), 'Price per gigabyte for data refueling'),
], { extra: 'forbid' });

export const DeviceModel = model('Device', [
  field('device_id', t.str(), 'Unique identifier for the device'),
  field('device_type', t.literal('phone', 'router', 'tablet', 'watch', 'other'), 'Type/category of the device'),
  field('model', t.str(), 'Model name/number of the device'),
  optField('imei', t.optional(t.str()), null),
  field('is_esim_capable', t.bool()),
  optField('activated', t.bool(), false),
  optField('activation_date', t.optional(t.str()), null),
  optField('last_esim_transfer_date', t.optional(t.str()), null),
], { extra: 'forbid' });

export const LineModel = model('Line', [
  field('line_id', t.str()),
  field('phone_number', t.str()),
  optField('status', t.literal(...LINE_STATUSES), 'Pending Activation'),
  field('plan_id', t.str()),
  optField('device_id', t.optional(t.str()), null),
  optField('data_used_gb', t.float(), f0),
  optField('data_refueling_gb', t.float(), f0),
  optField('roaming_enabled', t.bool(), false),
  optField('contract_end_date', t.optional(t.str()), null),
  optField('last_plan_change_date', t.optional(t.str()), null),
  optField('last_sim_replacement_date', t.optional(t.str()), null),
  optField('suspension_start_date', t.optional(t.str()), null),
], { extra: 'forbid' });

export const LineItemModel = model('LineItem', [
  field('description', t.str()),
  field('amount', t.float()),
  field('date', t.str()),
  field('item_type', t.str()),
], { extra: 'forbid' });

export const BillModel = model('Bill', [
  field('bill_id', t.str()),
  field('customer_id', t.str()),
  field('period_start', t.str()),
  field('period_end', t.str()),
  field('issue_date', t.str()),
  field('total_due', t.float()),
  field('due_date', t.str()),
  optField('line_items', t.list(t.model(LineItemModel)), []),
  optField('status', t.literal(...BILL_STATUSES), 'Draft'),
], { extra: 'forbid' });

export const PaymentMethodModel = model('PaymentMethod', [
  field('method_type', t.literal('Credit Card', 'Debit Card', 'PayPal')),
  field('account_number_last_4', t.str()),
  field('expiration_date', t.str()),
], { extra: 'forbid' });

export const CustomerModel = model('Customer', [
  field('customer_id', t.str()),
  field('full_name', t.str()),
  field('date_of_birth', t.str()),
  field('email', t.str()),
  field('phone_number', t.str()),
  field('address', t.model(AddressModel)),
  optField('account_status', t.literal('Active', 'Suspended', 'Pending Verification', 'Closed'), 'Pending Verification'),
  optField('payment_methods', t.list(t.model(PaymentMethodModel)), []),
  optField('line_ids', t.list(t.str()), []),
  optField('bill_ids', t.list(t.str()), []),
  // τ²'s default is the *date* 2025-01-01 in a datetime field (pydantic does not validate defaults).
  optField('created_at', t.str(), '2025-01-01'),
  optField('last_extension_date', t.optional(t.str()), null),
  optField('goodwill_credit_used_this_year', t.float(), f0),
], { extra: 'forbid' });

export const TelecomDbModel = model('TelecomDB', [
  optField('plans', t.list(t.model(PlanModel)), []),
  optField('customers', t.list(t.model(CustomerModel)), []),
  optField('lines', t.list(t.model(LineModel)), []),
  optField('bills', t.list(t.model(BillModel)), []),
  optField('devices', t.list(t.model(DeviceModel)), []),
], { extra: 'forbid' });

// ---- user side (the phone) -------------------------------------------------------------------

export const DEFAULT_APN = {
  apn_name: 'internet',
  reset_at_reboot: false,
  mms_apn: 'mms',
  mmsc_url: 'http://mms.carrier.com/mms/wapenc',
  mms_proxy: null,
  mms_port: null,
};

export const ApnSettingsModel = model('APNSettings', [
  optField('apn_name', t.literal('internet', 'broken'), 'internet', 'The name identifier for the APN connection.'),
  optField('reset_at_reboot', t.bool(), false, 'Whether the APN settings will be reset at the next reboot.'),
  optField('mms_apn', t.optional(t.str()), 'mms', 'Specific APN name used for MMS traffic, if different from general data.'),
  optField('mmsc_url', t.optional(t.str()), 'http://mms.carrier.com/mms/wapenc', 'The URL of the Multimedia Messaging Service Center (MMSC). Crucial for MMS.'),
  optField('mms_proxy', t.optional(t.str()), null, 'The proxy server address required for MMS traffic on some networks.'),
  optField('mms_port', t.optional(t.int()), null, 'The proxy server port required for MMS traffic on some networks.'),
], { extra: 'forbid', description: 'Represents the configuration for a single Access Point Name (APN).' });

export const VpnDetailsModel = model('VpnDetails', [
  optField('server_address', t.optional(t.str()), null),
  optField('protocol', t.optional(t.str()), null),
  optField('server_performance', t.literal('unknown', 'poor', 'fair', 'good', 'excellent'), 'unknown'),
], { extra: 'forbid' });

export const AppPermissionsModel = model('AppPermissions', [
  optField('sms', t.bool(), false),
  optField('storage', t.bool(), false),
  optField('phone', t.bool(), false),
  optField('network', t.bool(), false),
], { extra: 'forbid' });

export const AppStatusModel = model('AppStatus', [
  field('app_name', t.str()),
  optField('permissions', t.model(AppPermissionsModel), { sms: false, storage: false, phone: false, network: false }),
], { extra: 'forbid' });

const SIGNAL = ['none', 'poor', 'fair', 'good', 'excellent'] as const;

export const PhoneModel = model('MockPhoneAttributes', [
  optField('sim_card_status', t.literal('active', 'missing', 'locked_pin', 'locked_puk'), 'active'),
  optField('sim_card_missing', t.bool(), false),
  optField('airplane_mode', t.bool(), false),
  optField('network_signal_strength', t.literal(...SIGNAL), 'good'),
  optField('network_technology_connected', t.literal('none', '2G', '3G', '4G', '5G'), '5G'),
  optField('network_connection_status', t.literal('connected', 'searching', 'no_service', 'emergency_only'), 'connected'),
  optField('battery_level', t.int(), 80),
  optField('data_enabled', t.bool(), true),
  optField('roaming_enabled', t.bool(), false),
  optField('network_mode_preference', t.literal('4g_5g_preferred', '4g_only', '3g_only', '2g_only'), '4g_5g_preferred'),
  optField('active_apn_settings', t.model(ApnSettingsModel), DEFAULT_APN),
  optField('wifi_enabled', t.bool(), false),
  optField('wifi_connected', t.bool(), false),
  optField('wifi_ssid', t.optional(t.str()), null),
  optField('wifi_signal_strength', t.literal(...SIGNAL), 'none'),
  optField('wifi_calling_enabled', t.bool(), false),
  optField('wifi_calling_mms_over_wifi', t.bool(), false),
  optField('data_saver_mode', t.bool(), false),
  optField('vpn_enabled_setting', t.bool(), false),
  optField('vpn_connected', t.bool(), false),
  optField('vpn_details', t.optional(t.model(VpnDetailsModel)), null),
  optField('app_statuses', t.dict(t.model(AppStatusModel)), {
    messaging: { app_name: 'messaging', permissions: { sms: true, storage: true, phone: true, network: false } },
    browser: { app_name: 'browser', permissions: { sms: false, storage: true, phone: false, network: true } },
  }),
], { extra: 'forbid' });

export const PaymentRequestModel = model('PaymentRequest', [
  field('bill_id', t.str()),
  field('amount_due', t.float()),
  optField('paid', t.bool(), false),
], { extra: 'forbid' });

export const SurroundingsModel = model('UserSurroundings', [
  optField('name', t.optional(t.str()), null),
  optField('phone_number', t.optional(t.str()), null),
  optField('is_abroad', t.bool(), false),
  optField('roaming_allowed', t.bool(), false),
  optField('signal_strength', t.dict(t.literal(...SIGNAL)), { '2G': 'poor', '3G': 'fair', '4G': 'good', '5G': 'excellent' }),
  optField('mobile_data_usage_exceeded', t.bool(), false),
  optField('line_active', t.bool(), true),
  optField('payment_request', t.optional(t.model(PaymentRequestModel)), null),
], { extra: 'forbid' });

export const TelecomUserDbModel: ModelDesc = model('TelecomUserDB', [
  // pydantic's default_factory builds each sub-model with its own defaults.
  optField('device', t.model(PhoneModel), construct(PhoneModel, {})),
  optField('surroundings', t.model(SurroundingsModel), construct(SurroundingsModel, {})),
], { extra: 'forbid' });
