// The mock domain: agent and user tools, env functions, solo mode.
import { describe, expect, it } from 'vitest';
import { getDomain } from '../../domains/registry.ts';

import '../helpers/tau2.ts';

describe('mock domain', () => {
  it('creates tasks with sequential ids, no coercion of the status on update', () => {
    const env = getDomain('mock').createEnvironment();
    const r = (name: string, args: Record<string, unknown>, requestor: 'assistant' | 'user' = 'assistant') =>
      env.getResponse({ id: 'i', name, arguments: args, requestor });
    expect(r('create_task', { user_id: 'user_1', title: 'T' }).content).toBe('{"task_id": "task_2", "title": "T", "description": null, "status": "pending"}');
    expect(r('create_task', { user_id: 'nobody', title: 'T' }).content).toBe('Error: User nobody not found');
    expect(r('update_task_status', { task_id: 'task_9', status: 'completed' }).content).toBe('Error: Task task_9 not found');
    // the Literal annotation is not enforced: attribute assignment stores whatever was sent
    expect(r('update_task_status', { task_id: 'task_1', status: 'done' }).content).toContain('"status": "done"');
    expect(r('get_users', {}).content).toBe('[{"user_id": "user_1", "name": "Test User", "tasks": ["task_1", "task_2"]}]');
    expect(r('check_notifications', {}, 'user').content).toContain('"notif_1"');
    expect(r('dismiss_notification', { notification_id: 'notif_1' }, 'user').content).toContain('"status": "read"');
    expect(r('check_notifications', {}).content).toBe("Error: Tool 'check_notifications' not found.");
    expect(env.runEnvAssertion({ env_type: 'user', func_name: 'assert_notification_status', arguments: { notification_id: 'notif_1', expected_status: 'read' } })).toBe(true);
    expect(env.runEnvAssertion({ env_type: 'assistant', func_name: 'assert_number_of_tasks', arguments: { user_id: 'user_1', expected_number: 2 } })).toBe(true);
    expect(env.isMutatingTool('create_task')).toBe(true);
    expect(env.isMutatingTool('get_users')).toBe(false);
  });

  it('solo mode: the agent may call user tools; user-side calls are refused', () => {
    const env = getDomain('mock').createEnvironment({ solo: true });
    expect(env.agentToolSchemas().map((s) => s.function.name)).toContain('check_notifications');
    expect(env.getResponse({ id: '1', name: 'check_notifications', arguments: {} }).error).toBe(false);
    expect(env.getResponse({ id: '2', name: 'check_notifications', arguments: {}, requestor: 'user' }).content).toBe(
      'Error: User tool calls are not allowed in solo mode',
    );
    expect(env.policy).toContain('Mock');
  });
});
