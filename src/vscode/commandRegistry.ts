// Typed register/run helpers over the ids and argument types of constants.ts (the idea of vscode-js-debug's
// contributionUtils): a handler with the wrong argument types does not compile.
import * as vscode from 'vscode';
import type { CommandArgs, CommandResults, Commands } from './constants';

/** Registers a command with its argument types checked against CommandArgs. */
export function registerCommand<K extends Commands>(
  id: K,
  handler: (...args: CommandArgs[K]) => CommandResults[K] | Promise<CommandResults[K]>,
): vscode.Disposable {
  return vscode.commands.registerCommand(id, handler as (...args: unknown[]) => unknown);
}

/** Runs a command with typed arguments and result. */
export function runCommand<K extends Commands>(id: K, ...args: CommandArgs[K]): Thenable<CommandResults[K]> {
  return vscode.commands.executeCommand<CommandResults[K]>(id, ...args);
}

