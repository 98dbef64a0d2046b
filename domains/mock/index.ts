/**
 * τ²'s `mock` domain: a tiny task tracker (agent side) and a notification inbox (user side). Its
 * tasks exercise every task-schema feature, which makes it the framework's test fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tau2DomainDir } from '../core/data-dir.ts';
import type { DomainSpec } from '../core/domain.ts';
import { Db } from '../core/db.ts';
import { Environment } from '../core/environment.ts';
import { deepCopy } from '../pycompat/pyjson.ts';
import { construct, field, model, optField, t } from '../core/schema.ts';
import { Toolkit, asModel, fail, type ToolDef, type ToolkitSpec } from '../core/tool.ts';
import { loadDomainTasks, loadSplits } from '../tasks/load.ts';
import { TRANSFER_TO_HUMAN_AGENTS } from '../core/common-tools.ts';

const TaskStatus = t.literal('pending', 'completed');

export const TaskModel = model('Task', [
  field('task_id', t.str()),
  field('title', t.str()),
  optField('description', t.optional(t.str()), null),
  field('status', TaskStatus),
]);

export const UserModel = model('User', [field('user_id', t.str()), field('name', t.str()), field('tasks', t.list(t.str()))]);

export const MockDbModel = model('MockDB', [field('tasks', t.dict(t.model(TaskModel))), field('users', t.dict(t.model(UserModel)))], {
  extra: 'forbid',
});

export const NotificationModel = model('Notification', [
  field('notification_id', t.str()),
  field('message', t.str()),
  optField('status', t.str(), 'unread'),
  optField('task_id', t.optional(t.str()), null),
]);

export const MockUserDbModel = model('MockUserDB', [field('notifications', t.dict(t.model(NotificationModel)))], { extra: 'forbid' });

interface MockTask {
  task_id: string;
  title: string;
  description: string | null;
  status: string;
}
interface MockDbData {
  tasks: Record<string, MockTask>;
  users: Record<string, { user_id: string; name: string; tasks: string[] }>;
}
interface Notification {
  notification_id: string;
  message: string;
  status: string;
  task_id: string | null;
}
interface MockUserDbData {
  notifications: Record<string, Notification>;
}

const has = (o: object, k: unknown) => typeof k === 'string' && Object.prototype.hasOwnProperty.call(o, k);

const agentTools: ToolDef<MockDbData>[] = [
  {
    name: 'create_task',
    type: 'write',
    short: 'Create a new task for a user.',
    params: [
      field('user_id', t.str(), 'The ID of the user creating the task'),
      field('title', t.str(), 'The title of the task'),
      optField('description', t.str(), null, 'Optional description of the task'),
    ],
    run(db, a) {
      if (!has(db.users, a.user_id)) fail(`User ${String(a.user_id)} not found`);
      const taskId = `task_${Object.keys(db.tasks).length + 1}`;
      const task = construct<MockTask>(TaskModel, { task_id: taskId, title: a.title, description: a.description, status: 'pending' });
      db.tasks[taskId] = task;
      db.users[a.user_id as string].tasks.push(taskId);
      return asModel(task);
    },
  },
  {
    name: 'get_users',
    type: 'read',
    short: 'Get all users in the database.',
    params: [],
    run: (db) => Object.values(db.users).map(asModel),
  },
  {
    name: 'update_task_status',
    type: 'write',
    short: 'Update the status of a task.',
    params: [field('task_id', t.str(), 'The ID of the task to update'), field('status', TaskStatus, 'The new status of the task')],
    run(db, a) {
      if (!has(db.tasks, a.task_id)) fail(`Task ${String(a.task_id)} not found`);
      const task = db.tasks[a.task_id as string];
      task.status = a.status as string; // attribute assignment: not validated
      return asModel(task);
    },
  },
  TRANSFER_TO_HUMAN_AGENTS,
];

const agentToolkit: ToolkitSpec<MockDbData> = {
  className: 'MockTools',
  tools: agentTools,
  functions: [
    {
      name: 'assert_number_of_tasks',
      params: [field('user_id', t.str()), field('expected_number', t.int())],
      run(db, a) {
        if (!has(db.users, a.user_id)) fail(`User ${String(a.user_id)} not found`);
        return db.users[a.user_id as string].tasks.length === Number(a.expected_number);
      },
    },
    {
      name: 'assert_task_status',
      params: [field('task_id', t.str()), field('expected_status', TaskStatus)],
      run(db, a) {
        if (!has(db.tasks, a.task_id)) fail(`Task ${String(a.task_id)} not found`);
        return db.tasks[a.task_id as string].status === a.expected_status;
      },
    },
  ],
};

const userToolkit: ToolkitSpec<MockUserDbData> = {
  className: 'MockUserTools',
  tools: [
    {
      name: 'check_notifications',
      type: 'read',
      short: 'Check the notifications in your inbox.',
      params: [],
      run: (db) => Object.values(db.notifications).map(asModel),
    },
    {
      name: 'dismiss_notification',
      type: 'write',
      short: 'Dismiss a notification, marking it as read.',
      params: [field('notification_id', t.str(), 'The ID of the notification to dismiss')],
      run(db, a) {
        if (!has(db.notifications, a.notification_id)) fail(`Notification ${String(a.notification_id)} not found`);
        const n = db.notifications[a.notification_id as string];
        n.status = 'read';
        return asModel(n);
      },
    },
  ],
  functions: [
    {
      name: 'add_notification',
      params: [field('notification_id', t.str()), field('message', t.str()), optField('task_id', t.str(), null)],
      run(db, a) {
        db.notifications[a.notification_id as string] = construct<Notification>(NotificationModel, {
          notification_id: a.notification_id,
          message: a.message,
          status: 'unread',
          task_id: a.task_id,
        });
        return null;
      },
    },
    {
      name: 'assert_notification_status',
      params: [field('notification_id', t.str()), field('expected_status', t.str())],
      run(db, a) {
        if (!has(db.notifications, a.notification_id)) fail(`Notification ${String(a.notification_id)} not found`);
        return db.notifications[a.notification_id as string].status === a.expected_status;
      },
    },
  ],
};

// One validated copy per process; each environment gets a deep copy.
let cache: { agent: MockDbData; user: MockUserDbData } | undefined;
function baseDbs(): { agent: MockDbData; user: MockUserDbData } {
  if (!cache) {
    const dir = tau2DomainDir('mock');
    cache = {
      agent: Db.load<MockDbData>(MockDbModel, join(dir, 'db.json')).data,
      user: Db.load<MockUserDbData>(MockUserDbModel, join(dir, 'user_db.json')).data,
    };
  }
  return cache;
}

export const mockDomain: DomainSpec = {
  name: 'mock',
  policy: (opts) => readFileSync(join(tau2DomainDir('mock'), opts?.solo ? 'policy_solo.md' : 'policy.md'), 'utf8'),
  createEnvironment(opts = {}) {
    const base = baseDbs();
    return new Environment({
      domainName: 'mock',
      policy: mockDomain.policy(opts),
      tools: new Toolkit(agentToolkit, new Db(MockDbModel, deepCopy(base.agent))),
      userTools: new Toolkit(userToolkit, new Db(MockUserDbModel, deepCopy(base.user))),
      soloMode: opts.solo,
    });
  },
  loadTasks: (opts) => loadDomainTasks(tau2DomainDir('mock'), opts),
  splits: () => loadSplits(tau2DomainDir('mock')),
};
