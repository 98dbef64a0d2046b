// Telecom user toolkit (τ²'s TelecomUserTools): what the simulated customer can do on their phone.
// Status checks are READ and pure; every WRITE tool except `make_payment` reports its effect and
// then the status bar. The wording of these texts is Troupe's own; grading reads the device state.
import { numStr, formatFixed2 } from '../pycompat/pynum.ts';
import { construct, field, optField, pyTypeName, t } from '../core/schema.ts';
import { PyError, type EnvFunctionDef, type ToolDef, type Toolkit, type ToolkitSpec } from '../core/tool.ts';
import { pyStr, strRepr } from '../pycompat/pyjson.ts';
import {
  NETWORK_MODES,
  canSendMms,
  defaultVpnDetails,
  disconnectVpn,
  mobileDataWorking,
  networkSearch,
  reboot,
  simStatus,
  speedTest,
  toggleAirplane,
  toggleData,
  toggleDataSaver,
  toggleRoaming,
  toggleWifi,
  toggleWifiCalling,
  type ApnSettings,
  type NetworkMode,
  type TelecomUserData,
  type VpnDetails,
} from './device.ts';
import { ApnSettingsModel } from './models.ts';

type UserTool = ToolDef<TelecomUserData>;

// ---- texts -------------------------------------------------------------------------------------

const onOff = (b: boolean) => (b ? 'ON' : 'OFF');

/** One line summarising what the phone's status bar shows. */
export function statusBar(u: TelecomUserData): string {
  const d = u.device;
  const parts: string[] = [];
  if (d.airplane_mode) parts.push('Airplane Mode');
  else {
    parts.push(d.network_signal_strength === 'none' ? 'No Signal' : `Signal: ${d.network_signal_strength}`);
    if (d.network_technology_connected !== 'none') parts.push(d.network_technology_connected);
    if (d.data_enabled && d.network_technology_connected !== 'none') {
      parts.push('Mobile Data');
      if (d.data_saver_mode) parts.push('Data Saver');
    } else parts.push('Mobile Data Off');
  }
  if (d.wifi_enabled && d.wifi_connected) parts.push(d.wifi_ssid ? `Wi-Fi: ${d.wifi_ssid}` : 'Wi-Fi');
  if (d.vpn_connected) parts.push('VPN');
  parts.push(`Battery ${d.battery_level}%`);
  return parts.join(' | ');
}

const withBar = (u: TelecomUserData, text: string) => `${text}\nStatus Bar: ${statusBar(u)}`;

const SIM_TEXT: Record<string, string> = {
  active: 'The SIM card is active.',
  missing: 'No SIM card is detected.',
  locked_pin: 'The SIM card is locked and asks for its PIN.',
  locked_puk: 'The SIM card is locked and asks for its PUK.',
};

const SPEED_ADVICE: Record<string, string> = {
  'Very Poor': 'Even simple web pages will load with difficulty.',
  Poor: 'Browsing will be slow and streaming will struggle.',
  Fair: 'Fine for browsing and standard-definition video.',
  Good: 'Fine for most uses, HD streaming included.',
  Excellent: 'The connection is very fast.',
};

// ---- per-environment VPN profile ---------------------------------------------------------------

/**
 * The VPN profile `connect_vpn` applies. In τ² it is one object shared by reference: `break_vpn`
 * degrades the very object later connections reuse. Troupe keeps that sharing inside one
 * environment (reconnecting after `break_vpn` stays slow) but never across environments.
 */
const vpnProfiles = new WeakMap<object, VpnDetails>();
function vpnProfile(kit: Toolkit<TelecomUserData>): VpnDetails {
  let p = vpnProfiles.get(kit);
  if (!p) vpnProfiles.set(kit, (p = defaultVpnDetails()));
  return p;
}

/** Connects the VPN; null when it already was. */
function connectVpn(u: TelecomUserData, kit: Toolkit<TelecomUserData>): boolean | null {
  if (u.device.vpn_connected) return null;
  u.device.vpn_connected = true;
  u.device.vpn_details = vpnProfile(kit);
  return true;
}

function permissionNames(perms: Record<string, boolean>): string[] {
  return Object.entries(perms)
    .filter(([, on]) => on)
    .map(([name]) => name.replaceAll('_', ' ').toLowerCase());
}

function requireStr(v: unknown, method: string): string {
  if (typeof v !== 'string') throw new PyError(`'${pyTypeName(v)}' object has no attribute '${method}'`, 'AttributeError');
  return v;
}

// ---- tools (class-definition order) ------------------------------------------------------------

export const TELECOM_USER_TOOLS: UserTool[] = [
  {
    name: 'check_status_bar',
    type: 'read',
    short:
      "Shows what icons are currently visible in your phone's status bar (the area at the top of the screen). Displays network signal strength, mobile data status (enabled, disabled, data saver), Wi-Fi status, and battery level.",
    params: [],
    run: (u) => `Status Bar: ${statusBar(u)}`,
  },
  {
    name: 'check_network_status',
    type: 'read',
    short:
      "Checks your phone's connection status to cellular networks and Wi-Fi. Shows airplane mode status, signal strength, network type, whether mobile data is enabled, and whether data roaming is enabled.",
    params: [],
    run(u) {
      const d = u.device;
      const lines = [
        `Airplane Mode: ${onOff(d.airplane_mode)}`,
        `SIM Card: ${simStatus(d)}`,
        `Cellular Connection: ${d.network_connection_status}`,
        `Cellular Signal: ${d.network_signal_strength}`,
        `Cellular Network Type: ${d.network_technology_connected}`,
        `Mobile Data: ${onOff(d.data_enabled)}`,
        `Data Roaming: ${onOff(d.roaming_enabled)}`,
        `Wi-Fi: ${onOff(d.wifi_enabled)}`,
        `Wi-Fi Connected: ${d.wifi_connected ? 'yes' : 'no'}`,
      ];
      if (d.wifi_connected) lines.push(`Wi-Fi Network: ${pyStr(d.wifi_ssid)}`);
      return lines.join('\n');
    },
  },
  {
    name: 'check_network_mode_preference',
    type: 'read',
    short: 'Shows the current network mode preference.',
    params: [],
    run: (u) => `Network Mode Preference: ${u.device.network_mode_preference}`,
  },
  {
    name: 'set_network_mode_preference',
    type: 'write',
    short:
      'Changes the type of cellular network your phone prefers to connect to (e.g., 5G, LTE/4G, 3G). Higher-speed networks (LTE/5G) provide faster data but may use more battery.',
    params: [field('mode', t.union(t.literal(...NETWORK_MODES), t.str()))],
    run(u, a) {
      if (typeof a.mode !== 'string' || !NETWORK_MODES.includes(a.mode as NetworkMode)) {
        return withBar(u, `Failed to set network mode: '${pyStr(a.mode)}' is not a valid option. Valid options: ${NETWORK_MODES.join(', ')}`);
      }
      u.device.network_mode_preference = a.mode as NetworkMode;
      networkSearch(u);
      return withBar(u, `Preferred network mode is now ${a.mode}.`);
    },
  },
  {
    name: 'run_speed_test',
    type: 'read',
    short:
      'Measures your current internet connection speed (download speed). Provides information about connection quality and what activities it can support.',
    params: [],
    run(u) {
      const r = speedTest(u);
      if (!r) return 'Speed test failed: no connection.';
      return `Speed Test Result: ${formatFixed2(r.mbps)} Mbps (${r.label}). ${SPEED_ADVICE[r.label]}`;
    },
  },
  {
    name: 'toggle_airplane_mode',
    type: 'write',
    short: 'Toggles Airplane Mode ON or OFF. When ON, it disconnects all wireless communications including cellular, Wi-Fi, and Bluetooth.',
    long: 'Returns the new state of airplane_mode.',
    params: [],
    run: (u) => withBar(u, `Airplane Mode is now ${onOff(toggleAirplane(u))}.`),
  },
  {
    name: 'check_sim_status',
    type: 'read',
    short:
      'Checks if your SIM card is working correctly and displays its current status. Shows if the SIM is active, missing, or locked with a PIN or PUK code.',
    params: [],
    run: (u) => SIM_TEXT[simStatus(u.device)] ?? `Unknown SIM status: ${simStatus(u.device)}`,
  },
  {
    name: 'reseat_sim_card',
    type: 'write',
    short: 'Simulates removing and reinserting your SIM card. This can help resolve recognition issues.',
    params: [],
    run(u) {
      u.device.sim_card_missing = false;
      networkSearch(u);
      return withBar(u, 'The SIM card was removed and inserted again.');
    },
  },
  {
    name: 'toggle_data',
    type: 'write',
    short:
      "Toggles your phone's mobile data connection ON or OFF. Controls whether your phone can use cellular data for internet access when Wi-Fi is unavailable.",
    long: 'Returns the new data connection status.',
    params: [],
    run: (u) => withBar(u, `Mobile Data is now ${onOff(toggleData(u))}.`),
  },
  {
    name: 'toggle_roaming',
    type: 'write',
    short: "Toggles Data Roaming ON or OFF. When ON, your phone can use data networks in areas outside your carrier's coverage.",
    long: 'Returns the new data roaming status.',
    params: [],
    run: (u) => withBar(u, `Data Roaming is now ${onOff(toggleRoaming(u))}.`),
  },
  {
    name: 'check_data_restriction_status',
    type: 'read',
    short: 'Checks if your phone has any data-limiting features active. Shows if Data Saver mode is on.',
    params: [],
    run: (u) => (u.device.data_saver_mode ? 'Data Saver is ON: background data use is restricted.' : 'Data Saver is OFF.'),
  },
  {
    name: 'toggle_data_saver_mode',
    type: 'write',
    short: 'Toggles Data Saver mode ON or OFF. When ON, it reduces data usage, which may affect data speed.',
    long: 'Returns the new data saver mode status.',
    params: [],
    run: (u) => withBar(u, `Data Saver is now ${onOff(toggleDataSaver(u))}.`),
  },
  {
    name: 'check_apn_settings',
    type: 'read',
    short:
      "Checks the technical APN settings your phone uses to connect to your carrier's mobile data network. Shows current APN name and MMSC URL for picture messaging.",
    params: [],
    run(u) {
      const s = u.device.active_apn_settings;
      return `APN: ${s.apn_name || 'not set'}\nMMSC URL (picture messages): ${s.mmsc_url || 'not set'}`;
    },
  },
  {
    name: 'set_apn_settings',
    type: 'write',
    short: 'Sets the APN settings for the phone.',
    params: [field('apn_settings', t.union(t.model(ApnSettingsModel), t.rawdict()))],
    run(u, a) {
      const v = a.apn_settings;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new PyError(`'${pyTypeName(v)}' object has no attribute 'apn_name'`, 'AttributeError');
      }
      const settings = construct<ApnSettings>(ApnSettingsModel, v);
      u.device.active_apn_settings = settings;
      networkSearch(u);
      return withBar(u, `APN is now set to ${settings.apn_name}.`);
    },
  },
  {
    name: 'reset_apn_settings',
    type: 'write',
    short: 'Resets your APN settings to the default settings.',
    params: [],
    run(u) {
      u.device.active_apn_settings.reset_at_reboot = true;
      networkSearch(u);
      return withBar(u, 'The APN settings will return to their defaults at the next restart.');
    },
  },
  {
    name: 'check_wifi_status',
    type: 'read',
    short: "Checks your Wi-Fi connection status. Shows if Wi-Fi is turned on, which network you're connected to (if any), and the signal strength.",
    params: [],
    run(u) {
      const d = u.device;
      if (!d.wifi_enabled) return 'Wi-Fi is OFF.';
      if (d.wifi_connected) return `Wi-Fi is ON, connected to '${pyStr(d.wifi_ssid)}' (signal: ${d.wifi_signal_strength}).`;
      return 'Wi-Fi is ON but not connected to a network.';
    },
  },
  {
    name: 'toggle_wifi',
    type: 'write',
    short:
      "Toggles your phone's Wi-Fi radio ON or OFF. Controls whether your phone can discover and connect to wireless networks for internet access.",
    long: 'Returns the new Wi-Fi status.',
    params: [],
    run(u) {
      const s = toggleWifi(u);
      return withBar(u, s === null ? 'Wi-Fi cannot be changed while Airplane Mode is ON.' : `Wi-Fi is now ${onOff(s)}.`);
    },
  },
  {
    name: 'check_wifi_calling_status',
    type: 'read',
    short:
      'Checks if Wi-Fi Calling is enabled on your device. This feature allows you to make and receive calls over a Wi-Fi network instead of using the cellular network.',
    params: [],
    run: (u) => `Wi-Fi Calling is ${onOff(u.device.wifi_calling_enabled)}.`,
  },
  {
    name: 'toggle_wifi_calling',
    type: 'write',
    short:
      'Toggles Wi-Fi Calling ON or OFF. This feature allows you to make and receive calls over Wi-Fi instead of the cellular network, which can help in areas with weak cellular signal.',
    long: 'Returns the new Wi-Fi Calling status.',
    params: [],
    run: (u) => withBar(u, `Wi-Fi Calling is now ${onOff(toggleWifiCalling(u))}.`),
  },
  {
    name: 'check_vpn_status',
    type: 'read',
    short:
      "Checks if you're using a VPN (Virtual Private Network) connection. Shows if a VPN is active, connected, and displays any available connection details.",
    params: [],
    run(u) {
      const d = u.device;
      if (d.vpn_connected) {
        const v = d.vpn_details;
        if (!v) return 'VPN is connected (no details available).';
        return `VPN is connected. Server: ${pyStr(v.server_address)}, protocol: ${pyStr(v.protocol)}, performance: ${v.server_performance}.`;
      }
      return d.vpn_enabled_setting ? 'VPN is enabled in settings but not connected.' : 'VPN is OFF.';
    },
  },
  {
    name: 'connect_vpn',
    type: 'write',
    short: 'Connects to your VPN (Virtual Private Network).',
    params: [],
    run(u, _a, kit) {
      if (connectVpn(u, kit) === null) return 'The VPN is already connected.';
      return withBar(u, 'VPN connected.');
    },
  },
  {
    name: 'disconnect_vpn',
    type: 'write',
    short:
      'Disconnects any active VPN (Virtual Private Network) connection. Stops routing your internet traffic through a VPN server, which might affect connection speed or access to content.',
    params: [],
    run: (u) => withBar(u, disconnectVpn(u.device) ? 'VPN disconnected.' : 'There is no active VPN connection.'),
  },
  {
    name: 'check_installed_apps',
    type: 'read',
    short: 'Returns the name of all installed apps on the phone.',
    params: [],
    run: (u) => `Installed apps: ${Object.keys(u.device.app_statuses).join(', ')}`,
  },
  {
    name: 'check_app_status',
    type: 'read',
    short: 'Checks detailed information about a specific app. Shows its permissions and background data usage settings.',
    params: [field('app_name', t.str())],
    run(u, a) {
      const app = typeof a.app_name === 'string' ? u.device.app_statuses[a.app_name] : undefined;
      if (!app || !Object.prototype.hasOwnProperty.call(u.device.app_statuses, a.app_name as string)) {
        return `No app named '${pyStr(a.app_name)}' is installed.`;
      }
      const granted = permissionNames(app.permissions);
      return `App: ${pyStr(a.app_name)}\nPermissions granted: ${granted.length ? granted.join(', ') : 'none'}`;
    },
  },
  {
    name: 'check_app_permissions',
    type: 'read',
    short: 'Checks what permissions a specific app currently has. Shows if the app has access to features like storage, camera, location, etc.',
    params: [field('app_name', t.str())],
    run(u, a) {
      const has = typeof a.app_name === 'string' && Object.prototype.hasOwnProperty.call(u.device.app_statuses, a.app_name);
      if (!has) return `No app named '${pyStr(a.app_name)}' is installed.`;
      const granted = permissionNames(u.device.app_statuses[a.app_name as string].permissions);
      return granted.length ? `'${pyStr(a.app_name)}' has these permissions: ${granted.join(', ')}.` : `'${pyStr(a.app_name)}' has no permissions.`;
    },
  },
  {
    name: 'grant_app_permission',
    type: 'write',
    short:
      'Gives a specific permission to an app (like access to storage, camera, or location). Required for some app functions to work properly.',
    params: [
      field('app_name', t.str(), 'The name of the app to grant the permission to.'),
      field('permission', t.str(), 'The permission to grant, should be lowercase.'),
    ],
    run(u, a) {
      const perm = requireStr(a.permission, 'lower').toLowerCase();
      const app = typeof a.app_name === 'string' && Object.prototype.hasOwnProperty.call(u.device.app_statuses, a.app_name)
        ? u.device.app_statuses[a.app_name]
        : undefined;
      let text: string;
      if (!app) text = `Error. No app named '${pyStr(a.app_name)}' is installed.`;
      else if (!Object.prototype.hasOwnProperty.call(app.permissions, perm)) {
        const known = Object.keys(app.permissions).map(strRepr).join(', ');
        text = `Error. '${pyStr(a.app_name)}' has no permission called '${perm}'. Known permissions: [${known}]`;
      } else {
        (app.permissions as Record<string, boolean>)[perm] = true;
        text = `Success. '${pyStr(a.app_name)}' now has the '${perm}' permission.`;
      }
      return withBar(u, text);
    },
  },
  {
    name: 'can_send_mms',
    type: 'read',
    short: 'Checks if the default messaging app can send MMS messages.',
    params: [],
    run: (u) => (canSendMms(u) ? 'Your messaging app can send MMS messages.' : 'Your messaging app cannot send MMS messages.'),
  },
  {
    name: 'reboot_device',
    type: 'write',
    short:
      'Restarts your phone completely. This can help resolve many temporary software glitches by refreshing all running services and connections.',
    params: [],
    run: (u) => withBar(u, reboot(u).join('\n')),
  },
  {
    name: 'check_payment_request',
    type: 'read',
    short: 'Checks if the agent has sent you a payment request.',
    params: [],
    run(u) {
      const r = u.surroundings.payment_request;
      return r ? `There is a payment request for bill ${r.bill_id}: ${numStr(r.amount_due)} USD.` : 'There is no payment request.';
    },
  },
  {
    name: 'make_payment',
    type: 'write',
    short: 'Makes a payment for the bill that the agent has sent you.',
    params: [],
    run(u) {
      const r = u.surroundings.payment_request;
      if (!r) return 'There is no payment request to pay.';
      r.paid = true;
      return `Paid ${numStr(r.amount_due)} USD for bill ${r.bill_id}.`;
    },
  },
];

// ---- environment-only functions ----------------------------------------------------------------

const noArgs = (name: string, run: (u: TelecomUserData, kit: Toolkit<TelecomUserData>) => unknown): EnvFunctionDef<TelecomUserData> => ({
  name,
  params: [],
  run: (u, _a, kit) => run(u, kit),
});
const boolParam = (name: string, fn: (u: TelecomUserData, v: unknown) => unknown): EnvFunctionDef<TelecomUserData> => ({
  name,
  params: [field('expected_status', t.bool())],
  run: (u, a) => fn(u, a.expected_status),
});

/**
 * Drives a switch to `on` the way τ²'s `turn_*` helpers do: toggle once, and toggle back if that
 * landed on the wrong side. A switch already in place is therefore toggled twice, side effects
 * (network search, Wi-Fi and VPN drop) included.
 */
function ensure(_current: () => boolean, toggle: () => boolean, on: boolean): void {
  if (toggle() !== on) toggle();
}

export const TELECOM_USER_FUNCTIONS: EnvFunctionDef<TelecomUserData>[] = [
  {
    name: 'set_user_info',
    params: [field('name', t.str()), field('phone_number', t.str())],
    run(u, a) {
      u.surroundings.name = a.name as string;
      u.surroundings.phone_number = a.phone_number as string;
      return null;
    },
  },
  {
    name: 'set_user_location',
    params: [field('abroad', t.bool())],
    run(u, a) {
      u.surroundings.is_abroad = a.abroad as boolean;
      return null;
    },
  },
  noArgs('turn_airplane_mode_on', (u) => (ensure(() => u.device.airplane_mode, () => toggleAirplane(u), true), 'Airplane Mode is now ON.')),
  noArgs('turn_airplane_mode_off', (u) => (ensure(() => u.device.airplane_mode, () => toggleAirplane(u), false), 'Airplane Mode is now OFF.')),
  noArgs('unseat_sim_card', (u) => {
    u.device.sim_card_missing = true;
    networkSearch(u);
    return 'SIM card removed.';
  }),
  {
    name: 'lock_sim_card',
    params: [field('mode', t.literal('pin', 'puk'))],
    run(u, a) {
      if (a.mode === 'pin') u.device.sim_card_status = 'locked_pin';
      else if (a.mode === 'puk') u.device.sim_card_status = 'locked_puk';
      networkSearch(u);
      return `SIM card locked (${pyStr(a.mode)}).`;
    },
  },
  // Turning data on is a bare switch (no network search); turning it off goes through the toggle.
  noArgs('turn_data_on', (u) => ((u.device.data_enabled = true), 'Mobile data is ON.')),
  noArgs('turn_data_off', (u) => (ensure(() => u.device.data_enabled, () => toggleData(u), false), 'Mobile data is OFF.')),
  noArgs('turn_roaming_on', (u) => (ensure(() => u.device.roaming_enabled, () => toggleRoaming(u), true), 'Data Roaming is now ON.')),
  noArgs('turn_roaming_off', (u) => (ensure(() => u.device.roaming_enabled, () => toggleRoaming(u), false), 'Data Roaming is now OFF.')),
  noArgs('turn_data_saver_mode_on', (u) => (ensure(() => u.device.data_saver_mode, () => toggleDataSaver(u), true), 'Data Saver is now ON.')),
  noArgs('turn_data_saver_mode_off', (u) => (ensure(() => u.device.data_saver_mode, () => toggleDataSaver(u), false), 'Data Saver is now OFF.')),
  noArgs('break_apn_settings', (u) => {
    u.device.active_apn_settings.apn_name = 'broken';
    networkSearch(u);
    return 'APN settings broken.';
  }),
  noArgs('break_apn_mms_setting', (u) => {
    u.device.active_apn_settings.mmsc_url = null;
    return 'APN MMS setting broken.';
  }),
  {
    name: 'set_wifi_calling',
    params: [field('enabled', t.bool()), optField('mms_over_wifi', t.optional(t.bool()), null)],
    run(u, a) {
      if (u.device.wifi_calling_enabled !== a.enabled) toggleWifiCalling(u);
      if (a.mms_over_wifi !== null) u.device.wifi_calling_mms_over_wifi = a.mms_over_wifi as boolean;
      return `Wi-Fi Calling is now ${onOff(Boolean(a.enabled))}.`;
    },
  },
  noArgs('break_vpn', (u, kit) => {
    connectVpn(u, kit);
    // Degrades the connected profile; when it is the shared one, later connections stay slow.
    if (u.device.vpn_details) u.device.vpn_details.server_performance = 'poor';
    return 'VPN connection broken.';
  }),
  {
    name: 'remove_app_permission',
    params: [field('app_name', t.str()), field('permission', t.str())],
    run(u, a) {
      const perm = requireStr(a.permission, 'lower').toLowerCase();
      const app = typeof a.app_name === 'string' ? u.device.app_statuses[a.app_name] : undefined;
      if (!app) return [false, `App '${pyStr(a.app_name)}' not found.`];
      if (!Object.prototype.hasOwnProperty.call(app.permissions, perm)) return [false, `Permission '${perm}' not tracked.`];
      (app.permissions as Record<string, boolean>)[perm] = false;
      return [true, `Permission '${perm}' removed from app '${pyStr(a.app_name)}'.`];
    },
  },
  noArgs('simulate_network_search', (u) => (networkSearch(u), null)),
  // ---- assertions ----
  boolParam('assert_airplane_mode_status', (u, v) => u.device.airplane_mode === v),
  {
    name: 'assert_service_status',
    params: [field('expected_status', t.str())],
    run(u, a) {
      const valid = ['connected', 'searching', 'no_service', 'emergency_only'];
      if (!valid.includes(a.expected_status as string)) {
        throw new PyError(`${strRepr(pyStr(a.expected_status))} is not a valid NetworkStatus`);
      }
      return u.device.network_connection_status === a.expected_status;
    },
  },
  boolParam('assert_mobile_data_status', (u, v) => mobileDataWorking(u) === v),
  boolParam('assert_mobile_roaming_status', (u, v) => u.device.roaming_enabled === v),
  boolParam('assert_mobile_data_saver_mode_status', (u, v) => u.device.data_saver_mode === v),
  {
    name: 'assert_internet_speed',
    params: [field('expected_speed', t.float()), optField('expected_desc', t.optional(t.str()), null)],
    run(u, a) {
      const r = speedTest(u);
      const speed = r ? r.mbps : 0.0;
      const desc = r ? r.label : 'No Connection';
      const expected = Number((a.expected_speed as { valueOf(): number }).valueOf());
      if (a.expected_desc === null) return speed >= expected;
      return speed >= expected && desc.toLowerCase() === requireStr(a.expected_desc, 'lower').toLowerCase();
    },
  },
  noArgs('assert_internet_not_excellent', (u) => (speedTest(u)?.label ?? 'No Connection').toLowerCase() !== 'excellent'),
  boolParam('assert_can_send_mms', (u, v) => canSendMms(u) === v),
  boolParam('assert_mobile_data_usage_exceeded', (u, v) => u.surroundings.mobile_data_usage_exceeded === v),
];

export const TELECOM_USER_TOOLKIT: ToolkitSpec<TelecomUserData> = {
  className: 'TelecomUserTools',
  tools: TELECOM_USER_TOOLS,
  functions: TELECOM_USER_FUNCTIONS,
};
