// The user simulator role: a chat model prompted with the τ² guidelines and the task's scenario,
// shown the role-flipped user channel, answering one message per turn (text, or tool calls on its
// own device in telecom / mock). It ends the dialogue by writing a stop token, which the scene
// detects (###STOP###, ###TRANSFER###, ###OUT-OF-SCOPE###).
import type { ToolSchema, UserTurnReply, UserTurnRequest } from '../../protocols/dialogue.ts';
import { messageFromReply } from '../kit/chat.ts';
import type { ChatModel, UserPort } from '../kit/ports.ts';
import { flipForUser } from './flip.ts';

export interface UserSimulatorOptions {
  model: ChatModel;
  /** From buildUserSystemPrompt. */
  systemPrompt: string;
  /** The user's tools (telecom, mock); none elsewhere. */
  tools?: ToolSchema[];
  temperature?: number;
  maxTokens?: number;
}

export function createUserSimulator(opts: UserSimulatorOptions): UserPort {
  return {
    async nextTurn(req: UserTurnRequest, signal?: AbortSignal): Promise<UserTurnReply> {
      const reply = await opts.model.complete(
        {
          messages: [{ role: 'system', content: opts.systemPrompt }, ...flipForUser(req.history)],
          tools: opts.tools && opts.tools.length > 0 ? opts.tools : undefined,
          temperature: opts.temperature ?? 0,
          seed: req.seed,
          maxTokens: opts.maxTokens,
          dialogueId: req.dialogueId,
        },
        signal,
      );
      return { message: messageFromReply(reply, 'user') as UserTurnReply['message'] };
    },
  };
}
