// Unit: society config parsing, NATS settings precedence and connection options, missing nats-server.
import { afterEach, describe, expect, it } from 'vitest';
import { connectionOptions, natsSettingsFromFlags, natsSettingsToEnv, redactUrl } from '../../runtime/nats/connect.ts';
import { findNatsServer, NatsServerMissingError } from '../../runtime/nats/embedded.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';

const saved = process.env.TROUPE_NATS_SERVER;
afterEach(() => {
  if (saved === undefined) delete process.env.TROUPE_NATS_SERVER;
  else process.env.TROUPE_NATS_SERVER = saved;
});

describe('society config', () => {
  it('fills defaults and names what is wrong', () => {
    const c = parseSocietyConfig({ roles: { critic: { model: 'm' }, 'user-simulator': { replicas: 3 } } });
    expect(c.roles.critic.replicas).toBe(1);
    expect(c.roles['user-simulator'].replicas).toBe(3);
    expect(() => parseSocietyConfig({ roles: { Critic: {} } }, 'x.json')).toThrow(/x\.json: roles\.Critic/);
    expect(() => parseSocietyConfig({ roles: { critic: { replicas: 0 } } })).toThrow(/roles\.critic\.replicas/);
    expect(() => parseSocietyConfig({})).toThrow(/roles/);
  });
});

describe('NATS settings', () => {
  it('takes flags over environment and passes credentials to children only through the environment', () => {
    const env = { TROUPE_NATS_URL: 'nats://env:4222', TROUPE_NATS_USER: 'u', TROUPE_NATS_PASS: 'p' };
    expect(natsSettingsFromFlags({}, {})).toBeUndefined();
    const s = natsSettingsFromFlags({ nats: 'nats://flag:4222', 'nats-token': 't' }, env)!;
    expect(s).toMatchObject({ url: 'nats://flag:4222', user: 'u', pass: 'p', token: 't' });
    expect(natsSettingsToEnv(s)).toEqual({ TROUPE_NATS_URL: 'nats://flag:4222', TROUPE_NATS_USER: 'u', TROUPE_NATS_PASS: 'p', TROUPE_NATS_TOKEN: 't' });
  });

  it('builds connection options for user/password, token, nkey and TLS', () => {
    expect(connectionOptions({ url: 'nats://a:1,nats://b:2', user: 'u', pass: 'p' })).toMatchObject({ servers: ['nats://a:1', 'nats://b:2'], user: 'u', pass: 'p' });
    expect(connectionOptions({ url: 'nats://a:1', token: 't' }).token).toBe('t');
    // A seed-shaped string: the authenticator is built from it (it signs only when a server asks).
    const seed = 'SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU';
    expect(typeof connectionOptions({ url: 'nats://a:1', nkeySeed: seed }).authenticator).toBe('function');
    expect(() => connectionOptions({ url: 'nats://a:1', nkeySeed: '/no/such/seed/file' })).toThrow();
    expect(connectionOptions({ url: 'tls://a:1', tlsCa: '/ca.pem' }).tls).toMatchObject({ caFile: '/ca.pem' });
  });

  it('keeps credentials embedded in URLs out of logs', () => {
    expect(redactUrl('nats://alice:s3cret@a:4222,nats://tok@b:4222')).toBe('nats://a:4222,nats://b:4222');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('says how to install nats-server when the binary is missing', () => {
    process.env.TROUPE_NATS_SERVER = '/nonexistent/nats-server';
    expect(() => findNatsServer()).toThrow(NatsServerMissingError);
    expect(() => findNatsServer()).toThrow(/apt-get install nats-server/);
  });
});

describe('role catalog', () => {
  it('loads a role by name or module path and checks the role it implements', async () => {
    const { loadRole } = await import('../../runtime/host/catalog.ts');
    const { TEST_ROLES } = await import('../fixtures/roles/catalog.ts');
    const byName = await loadRole('stage-a', 'stage-a', undefined, TEST_ROLES);
    expect(byName.def.name).toBe('stage-a');
    expect(byName.module).toBe('tests/fixtures/roles/stage-a.ts');
    await expect(loadRole('no-such-role', undefined, undefined, TEST_ROLES)).rejects.toThrow(/unknown role "no-such-role": the roles are .*stage-a/);
    const { def } = await loadRole('tests/fixtures/roles/stage-b-v2.ts', 'stage-b', undefined, TEST_ROLES);
    expect(def.impl).toBe('stage-b@2');
    await expect(loadRole('tests/fixtures/roles/stage-b-v2.ts', 'stage-a', undefined, TEST_ROLES)).rejects.toThrow(/implements role "stage-b", not "stage-a"/);
  });
});
