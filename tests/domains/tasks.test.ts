// Task loading (splits, task files, legacy v0.2.0), user-scenario rendering and gold replays of
// the base split on the real τ² data.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumps } from '../../domains/pycompat/pyjson.ts';
import { getDomain } from '../../domains/registry.ts';
import { applyInitialState, goldEnvironment } from '../../domains/tasks/initial-state.ts';
import { loadTaskFile, parseTasks } from '../../domains/tasks/load.ts';
import { replayTask } from '../../domains/tasks/replay.ts';
import { pyIndent, renderUserScenario } from '../../domains/tasks/scenario.ts';
import { rewardBasis } from '../../protocols/tau2/task.ts';

import '../helpers/tau2.ts';
import { TAU2_LEGACY_DATA } from '../helpers/tau2.ts';
const LEGACY = join(TAU2_LEGACY_DATA, 'tau2', 'domains');

describe('task loading', () => {
  it('loads splits in tasks.json order', () => {
    const airline = getDomain('airline');
    expect([airline.loadTasks().length, airline.loadTasks({ split: 'train' }).length, airline.loadTasks({ split: 'test' }).length]).toEqual([50, 30, 20]);
    const retail = getDomain('retail');
    expect([retail.loadTasks().length, retail.loadTasks({ split: 'train' }).length, retail.loadTasks({ split: 'test' }).length]).toEqual([114, 74, 40]);
    expect(getDomain('mock').loadTasks().map((t) => t.id)[0]).toBe('create_task_1');
    const ids = airline.loadTasks({ split: 'train' }).map((t) => Number(t.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b)); // file order, not split-list order
    expect(() => airline.loadTasks({ split: 'nope' })).toThrow(/unknown split "nope" in .*split_tasks.json; known splits: train, test, base/);
  });

  it('loads any task file by path, including the legacy v0.2.0 set (no reward_basis -> DB+COMMUNICATE)', () => {
    const legacyAirline = getDomain('airline').loadTasks({ path: join(LEGACY, 'airline/tasks.json') });
    expect(legacyAirline).toHaveLength(50);
    expect(rewardBasis(legacyAirline[0].evaluation_criteria)).toEqual(['DB', 'COMMUNICATE']);
    const retail = getDomain('retail').loadTasks();
    expect(retail.filter((t) => JSON.stringify(t.evaluation_criteria?.reward_basis) === '["DB"]').map((t) => t.id)).toEqual(['33', '34']);
    expect(loadTaskFile(join(LEGACY, 'retail/tasks.json'))).toHaveLength(114);
  });

  it('drops unknown keys, keeps Python floats in arguments, and names the bad task', () => {
    const [t] = parseTasks('[{"id": "x", "user_scenario": {"instructions": "hi"}, "annotations": 1, "evaluation_criteria": {"actions": [{"action_id": "a", "name": "n", "arguments": {"v": 1.0}}]}}]', 'mem');
    expect('annotations' in t).toBe(false);
    expect(dumps(t.evaluation_criteria!.actions![0].arguments)).toBe('{"v": 1.0}');
    expect(() => parseTasks('[{"id": "bad"}]', 'f.json')).toThrow(/f\.json: task #0 \(bad\) is not a valid τ² task: user_scenario/);
    expect(() => parseTasks('{', 'f.json')).toThrow(/f\.json: not valid JSON/);
    const dir = mkdtempSync(join(tmpdir(), 'troupe-tasks-'));
    writeFileSync(join(dir, 't.json'), '[{"id": "s1", "user_scenario": {"instructions": "x"}}]');
    expect(getDomain('mock').loadTasks({ path: join(dir, 't.json') }).map((x) => x.id)).toEqual(['s1']);
  });
});

describe('user scenario rendering (str(task.user_scenario))', () => {
  it('renders airline task 0 exactly', () => {
    const task = getDomain('airline').loadTasks()[0];
    expect(renderUserScenario(task)).toBe(
      'Instructions:\n' +
        '\tDomain: airline\n' +
        '\tReason for call:\n' +
        '\t\tYou want to cancel reservation EHGLP3. \n' +
        '\n' +
        '\t\tIt may be more than 24 hours after booking, but it is ok because you were out of town for that time.\n' +
        '\tKnown info:\n' +
        '\t\tYou are Emma Kim.\n' +
        '\t\tYour user id is emma_kim_9957.\n' +
        '\tTask instructions:\n' +
        '\t\tIf Agent tells you that cancellation is not possible,\n' +
        "\t\tmention that you were told that you didn't need to get insurance because your previous trip was booked with the same agency with insurance.\n" +
        '\n' +
        "\t\tYou don't want to cancel if you don't get a refund.",
    );
  });

  it('renders persona, unknown info, and string instructions; indent skips whitespace-only lines', () => {
    expect(
      renderUserScenario({
        user_scenario: {
          persona: 'Calm.\n  \nTerse.',
          instructions: { domain: 'd', reason_for_call: 'r', known_info: null, unknown_info: 'u', task_instructions: 't' },
        },
      }),
    ).toBe('Persona:\n\tCalm.\n  \n\tTerse.\nInstructions:\n\tDomain: d\n\tReason for call:\n\t\tr\n\tUnknown info:\n\t\tu\n\tTask instructions:\n\t\tt');
    expect(renderUserScenario({ user_scenario: { instructions: 'Do X.\nThen Y.' } })).toBe('Instructions:\n\tDo X.\n\tThen Y.');
    expect(pyIndent('a\r\nb\n\n', '>')).toBe('>a\r\n>b\n\n');
  });
});

// Gold actions that raise in the reference too (deterministic given the data): reads of ids the
// task deliberately gets wrong first, plus two WRITE attempts that fail by design.
const EXPECTED_WRITE_ERRORS: Record<string, string> = {
  // 64_6 tries an exchange on a *pending* order; the next gold action modifies it instead.
  'retail/64': 'exchange_delivered_order_items: Non-delivered order cannot be exchanged',
  // 106_0: the two kettles cost 21.10 more and the gift card holds 17.0, so no change is possible.
  'retail/105': 'exchange_delivered_order_items: Insufficient gift card balance to pay for the price difference',
};

describe('gold replay of the base split', () => {
  for (const name of ['mock', 'airline', 'retail']) {
    it(`${name}: every gold WRITE succeeds except the reference's own failures`, () => {
      const domain = getDomain(name);
      const writeErrors: Record<string, string> = {};
      for (const task of domain.loadTasks()) {
        const { env, errors } = goldEnvironment(() => domain.createEnvironment(), task);
        for (const e of errors) {
          expect(env.tools!.hasTool(e.name) || env.userTools?.hasTool(e.name)).toBe(true);
          if (env.isMutatingTool(e.name)) writeErrors[`${name}/${task.id}`] = `${e.name}: ${e.error}`;
        }
      }
      const expected = Object.fromEntries(Object.entries(EXPECTED_WRITE_ERRORS).filter(([k]) => k.startsWith(`${name}/`)));
      expect(writeErrors).toEqual(expected);
    });
  }

  it('is deterministic and starts from a fresh DB each time', () => {
    const airline = getDomain('airline');
    const task = airline.loadTasks().find((t) => (t.evaluation_criteria?.actions ?? []).some((a) => a.name === 'book_reservation'))!;
    const a = replayTask(airline, task).line;
    const b = replayTask(airline, task).line;
    expect(a).toBe(b);
    expect(a).toContain('"HATHAT"');
    expect(airline.createEnvironment().agentDbDump()).not.toHaveProperty('reservations.HATHAT');
  });

  it('applies initial_state: data merge (with the user-DB aliasing quirk), init actions, message history', () => {
    const mock = getDomain('mock');
    const byId = Object.fromEntries(mock.loadTasks().map((t) => [t.id, t]));
    const withData = mock.createEnvironment();
    applyInitialState(withData, byId.update_task_with_initialization_data);
    expect((withData.agentDbDump() as any).users.user_1.tasks).toEqual(['task_1', 'task_2']);
    expect(withData.userDbHash()).toBe(withData.agentDbHash()); // τ² v1.0: user toolkit now shares the agent DB
    for (const id of ['update_task_with_message_history', 'update_task_with_initialization_actions']) {
      const env = mock.createEnvironment();
      applyInitialState(env, byId[id]);
      expect((env.agentDbDump() as any).tasks.task_2.title).toBe('Project Review');
    }
    const user = goldEnvironment(() => mock.createEnvironment(), byId.update_task_with_user_tools).env;
    expect(user.runEnvAssertion({ env_type: 'assistant', func_name: 'assert_task_status', arguments: { task_id: 'task_1', expected_status: 'completed' } })).toBe(true);
  });
});
