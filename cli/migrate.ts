/** `parallax-edge migrate`: upgrade an existing store to this parallax-edge's schema version. */
import { ExitCode } from './errors.js';
import { printable } from './format.js';
import { migrateStore } from './store.js';
import type { CommandIO } from './sync.js';

export async function migrateCommand(command: { readonly store: string }, io: CommandIO): Promise<ExitCode> {
  const { from, to } = await migrateStore(command.store, io.cwd);
  const text =
    from === to
      ? `Store ${command.store} is at schema version ${to}; nothing to migrate`
      : `Migrated store ${command.store} from schema version ${from} to ${to}`;
  io.stdout.write(`${printable(text)}\n`);
  return ExitCode.Success;
}
