// The simulated phone (user side of telecom's dual control). Pure state transitions over the user
// DB; the user toolkit wraps them into tools with readable outputs. The rules follow τ²'s mock
// phone: which actions re-run the network search, what makes mobile data / MMS work, how the speed
// test is computed.
import { pyFloat, type PyFloat } from '../pycompat/pyjson.ts';
import { roundFloat } from '../pycompat/pynum.ts';
import { DEFAULT_APN } from './models.ts';

export type Signal = 'none' | 'poor' | 'fair' | 'good' | 'excellent';
export type Tech = 'none' | '2G' | '3G' | '4G' | '5G';
export type NetworkMode = '4g_5g_preferred' | '4g_only' | '3g_only' | '2g_only';
export const NETWORK_MODES: readonly NetworkMode[] = ['4g_5g_preferred', '4g_only', '3g_only', '2g_only'];

export interface ApnSettings {
  apn_name: 'internet' | 'broken';
  reset_at_reboot: boolean;
  mms_apn: string | null;
  mmsc_url: string | null;
  mms_proxy: string | null;
  mms_port: number | null;
}

export interface VpnDetails {
  server_address: string | null;
  protocol: string | null;
  server_performance: 'unknown' | 'poor' | 'fair' | 'good' | 'excellent';
}

export interface AppStatus {
  app_name: string;
  permissions: { sms: boolean; storage: boolean; phone: boolean; network: boolean };
}

export interface Phone {
  sim_card_status: 'active' | 'missing' | 'locked_pin' | 'locked_puk';
  sim_card_missing: boolean;
  airplane_mode: boolean;
  network_signal_strength: Signal;
  network_technology_connected: Tech;
  network_connection_status: 'connected' | 'searching' | 'no_service' | 'emergency_only';
  battery_level: number;
  data_enabled: boolean;
  roaming_enabled: boolean;
  network_mode_preference: NetworkMode;
  active_apn_settings: ApnSettings;
  wifi_enabled: boolean;
  wifi_connected: boolean;
  wifi_ssid: string | null;
  wifi_signal_strength: Signal;
  wifi_calling_enabled: boolean;
  wifi_calling_mms_over_wifi: boolean;
  data_saver_mode: boolean;
  vpn_enabled_setting: boolean;
  vpn_connected: boolean;
  vpn_details: VpnDetails | null;
  app_statuses: Record<string, AppStatus>;
}

export interface PaymentRequest {
  bill_id: string;
  amount_due: PyFloat | number;
  paid: boolean;
}

export interface Surroundings {
  name: string | null;
  phone_number: string | null;
  is_abroad: boolean;
  roaming_allowed: boolean;
  signal_strength: Partial<Record<Tech, Signal>>;
  mobile_data_usage_exceeded: boolean;
  line_active: boolean;
  payment_request: PaymentRequest | null;
}

export interface TelecomUserData {
  device: Phone;
  surroundings: Surroundings;
}

/** The VPN profile `connect_vpn` uses until `break_vpn` degrades it. */
export function defaultVpnDetails(): VpnDetails {
  return { server_address: '192.168.1.1', protocol: 'OpenVPN', server_performance: 'excellent' };
}

/** The SIM as the phone reports it: a removed SIM reads as missing whatever its lock state. */
export function simStatus(d: Phone): Phone['sim_card_status'] {
  return d.sim_card_missing ? 'missing' : d.sim_card_status;
}

function noService(d: Phone): void {
  d.network_connection_status = 'no_service';
  d.network_technology_connected = 'none';
  d.network_signal_strength = 'none';
}

/** Re-evaluates the cellular connection from SIM, mode preference, radio and line state. */
export function networkSearch(u: TelecomUserData): void {
  const d = u.device;
  const signalOf = (tech: Tech): Signal => u.surroundings.signal_strength[tech] ?? 'none';
  if (simStatus(d) === 'active') {
    d.network_connection_status = 'connected';
    let tech: Tech;
    switch (d.network_mode_preference) {
      case '4g_5g_preferred':
        tech = signalOf('5G') === 'none' ? '4G' : '5G';
        break;
      case '3g_only':
        tech = '3G';
        break;
      case '2g_only':
        tech = '2G';
        break;
      default:
        tech = '4G';
    }
    d.network_technology_connected = tech;
    d.network_signal_strength = signalOf(tech);
  } else {
    noService(d);
  }
  if (d.airplane_mode) noService(d);
  if (d.active_apn_settings.apn_name === 'broken') noService(d);
  if (!u.surroundings.line_active) noService(d);
}

/** Mobile data works: radio on, signal, service, roaming rules abroad, data on, allowance left. */
export function mobileDataWorking(u: TelecomUserData): boolean {
  const d = u.device;
  if (d.airplane_mode || d.network_signal_strength === 'none') return false;
  if (d.network_connection_status === 'no_service') return false;
  if (u.surroundings.is_abroad && (!d.roaming_enabled || !u.surroundings.roaming_allowed)) return false;
  if (!d.data_enabled) return false;
  if (u.surroundings.mobile_data_usage_exceeded) return false;
  return true;
}

const TECH_RANGE: Record<Tech, [number, number]> = {
  '2G': [0.1, 0.4],
  '3G': [1.0, 5.0],
  '4G': [10.0, 100.0],
  '5G': [50.0, 500.0],
  none: [0, 0],
};
const SIGNAL_FACTOR: Record<Signal, number> = { poor: 0.2, fair: 0.5, good: 0.8, excellent: 1.0, none: 0 };

export type SpeedLabel = 'Very Poor' | 'Poor' | 'Fair' | 'Good' | 'Excellent';

/** Download speed in Mbps (Python float) and its label, or null when mobile data does not work. */
export function speedTest(u: TelecomUserData): { mbps: number; label: SpeedLabel } | null {
  if (!mobileDataWorking(u)) return null;
  const d = u.device;
  let factor = d.vpn_connected && d.vpn_details && d.vpn_details.server_performance === 'poor' ? 0.1 : 1.0;
  if (d.data_saver_mode) factor *= 0.2;
  const [lo, hi] = TECH_RANGE[d.network_technology_connected] ?? [0, 0];
  const sig = SIGNAL_FACTOR[d.network_signal_strength] ?? 0;
  // Same operation order as the reference, so the binary value (and its rounding) agrees.
  const mbps = roundFloat(((lo + hi) / 2.0) * sig * factor, 2);
  const label: SpeedLabel = mbps < 1 ? 'Very Poor' : mbps < 5 ? 'Poor' : mbps < 25 ? 'Fair' : mbps < 100 ? 'Good' : 'Excellent';
  return { mbps, label };
}

/** MMS needs working data (not over 2G), no Wi-Fi-calling MMS routing, an MMSC, and app permissions. */
export function canSendMms(u: TelecomUserData): boolean {
  const d = u.device;
  if (!mobileDataWorking(u)) return false;
  if (d.network_technology_connected === '2G') return false;
  if (d.wifi_calling_enabled && d.wifi_calling_mms_over_wifi) return false;
  if (d.active_apn_settings.mmsc_url === null || d.active_apn_settings.mmsc_url === undefined) return false;
  const app = d.app_statuses['messaging'];
  if (!app) return false;
  return app.permissions.storage && app.permissions.sms;
}

// ---- state transitions -----------------------------------------------------------------------

export function disconnectVpn(d: Phone): boolean {
  if (!d.vpn_connected) return false;
  d.vpn_connected = false;
  d.vpn_details = null;
  return true;
}

/** Flips airplane mode; turning it on drops Wi-Fi and the VPN. Re-runs the network search. */
export function toggleAirplane(u: TelecomUserData): boolean {
  const d = u.device;
  const wasOn = d.airplane_mode;
  d.airplane_mode = !wasOn;
  if (wasOn) {
    d.network_connection_status = 'searching';
    if (d.wifi_enabled) {
      d.wifi_connected = false;
      d.wifi_ssid = null;
      d.wifi_signal_strength = 'none';
    }
  } else {
    d.wifi_connected = false;
    d.wifi_ssid = null;
    d.wifi_signal_strength = 'none';
    if (d.vpn_connected) disconnectVpn(d);
  }
  networkSearch(u);
  return d.airplane_mode;
}

export function toggleData(u: TelecomUserData): boolean {
  u.device.data_enabled = !u.device.data_enabled;
  networkSearch(u);
  return u.device.data_enabled;
}

export function toggleRoaming(u: TelecomUserData): boolean {
  u.device.roaming_enabled = !u.device.roaming_enabled;
  networkSearch(u);
  return u.device.roaming_enabled;
}

export function toggleDataSaver(u: TelecomUserData): boolean {
  u.device.data_saver_mode = !u.device.data_saver_mode;
  return u.device.data_saver_mode;
}

/** null while airplane mode is on (the radio cannot be changed). */
export function toggleWifi(u: TelecomUserData): boolean | null {
  const d = u.device;
  if (d.airplane_mode) return null;
  d.wifi_enabled = !d.wifi_enabled;
  if (!d.wifi_enabled) {
    d.wifi_connected = false;
    d.wifi_ssid = null;
    d.wifi_signal_strength = 'none';
  }
  return d.wifi_enabled;
}

export function toggleWifiCalling(u: TelecomUserData): boolean {
  u.device.wifi_calling_enabled = !u.device.wifi_calling_enabled;
  return u.device.wifi_calling_enabled;
}

/** A fresh default APN profile (what a reset applies at reboot). */
export function defaultApn(): ApnSettings {
  return { ...DEFAULT_APN } as ApnSettings;
}

/** Reboot: applies a pending APN reset, then restarts the network search. Returns the log lines. */
export function reboot(u: TelecomUserData): string[] {
  const lines: string[] = [];
  if (u.device.active_apn_settings.reset_at_reboot) {
    lines.push('Resetting APN settings...');
    u.device.active_apn_settings = defaultApn();
  }
  lines.push('Restarting network services...');
  u.device.network_connection_status = 'searching';
  networkSearch(u);
  return lines;
}

/** Float `amount_due` of a new payment request (PaymentRequest construction coerces to float). */
export function paymentAmount(totalDue: PyFloat | number): PyFloat {
  return pyFloat(Number(totalDue.valueOf()));
}
