// The registration loop over the command table: every command is registered here, once, and the launch commands
// get the platform and trust check here, with one wording. Enablement only greys out menus: executeCommand and
// keybindings still reach the handler, so the check cannot live in package.json alone.
import * as vscode from 'vscode';
import { allCommands, COMMAND_TABLE, type CommandFactoryName, type FactoryHandlers } from './commandTable';

/** Why launching programs is refused here, or null when it is allowed. */
export function launchRefusal(): string | null {
  if (process.platform !== 'linux') {
    return `Allocator Lab runs targets on Linux only (it reads /proc and uses LD_PRELOAD); this extension host runs on ${process.platform}. Open the workspace on a Linux machine (Remote - SSH, WSL, Dev Containers). Saved runs and profiles can still be viewed.`;
  }
  if (!vscode.workspace.isTrusted) {
    return 'Allocator Lab starts programs only in a trusted workspace: a scenario or setting could run any binary. Trust this workspace to run, watch, profile or debug targets; saved runs and profiles can still be viewed.';
  }
  return null;
}

/** Shows why a launch command cannot run; true when it may proceed. */
async function mayLaunch(): Promise<boolean> {
  const why = launchRefusal();
  if (!why) return true;
  const actions = vscode.workspace.isTrusted ? [] : ['Manage Workspace Trust'];
  const a = await vscode.window.showWarningMessage(why, ...actions);
  if (a === 'Manage Workspace Trust') void vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** Registers every command of the table with the handler its factory built; launch commands are guarded. */
export function registerCommandTable(factories: { [F in CommandFactoryName]: FactoryHandlers<F> }): vscode.Disposable[] {
  return allCommands.map((id) => {
    const entry = COMMAND_TABLE[id];
    const handler = (factories[entry.factory] as Record<string, (...args: unknown[]) => unknown>)[id];
    if (!handler) throw new Error(`command ${id}: the ${entry.factory} factory built no handler`);
    const guarded = entry.needs === 'launch'
      ? async (...args: unknown[]) => ((await mayLaunch()) ? handler(...args) : undefined)
      : handler;
    return vscode.commands.registerCommand(id, guarded);
  });
}
