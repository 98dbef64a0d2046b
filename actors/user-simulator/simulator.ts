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
  /** Said verbatim as the user's first turn instead of asking the model (see UserOpening). */
  openingText?: string;
}

/** True while the user has not spoken yet (the history holds only the greeting or the task's history without user turns). */
export function isUserFirstTurn(history: UserTurnRequest['history']): boolean {
  return !history.some((m) => m.role === 'user');
}

export function createUserSimulator(opts: UserSimulatorOptions): UserPort {
  return {
    async nextTurn(req: UserTurnRequest, signal?: AbortSignal): Promise<UserTurnReply> {
      if (opts.openingText && isUserFirstTurn(req.history)) return { message: { role: 'user', content: opts.openingText } };
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
