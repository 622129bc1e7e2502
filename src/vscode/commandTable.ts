// Every command of the extension, as a table (the idea of rust-analyzer's createCommands): what it needs, and the
// named factory that builds its handler. The list of commands, the launch commands and the manifest
// test all derive from this table. Runtime-free of vscode, so plain-Node unit tests can read it.
import { Commands, type CommandArgs, type CommandResults } from './constants';

/** `launch`: the command starts programs, so it runs only on Linux in a trusted workspace. */
export type CommandNeeds = 'launch' | 'none';

/**
 * The factories that build the handlers, one per area: runCommandHandlers (commands.ts), debugCommandHandlers
 * (debug/commands.ts), hotspotCommandHandlers (hotspots/index.ts).
 */
export type CommandFactoryName = 'runs' | 'debug' | 'hotspots';

export const COMMAND_TABLE = {
  [Commands.RunScenario]: { needs: 'launch', factory: 'runs' },
  [Commands.WatchProcess]: { needs: 'launch', factory: 'runs' },
  [Commands.CompareAllocators]: { needs: 'launch', factory: 'runs' },
  [Commands.StopRun]: { needs: 'none', factory: 'runs' },
  [Commands.OpenRun]: { needs: 'none', factory: 'runs' },
  [Commands.CompareRuns]: { needs: 'none', factory: 'runs' },
  [Commands.ShowAllocators]: { needs: 'none', factory: 'runs' },
  [Commands.NewScenario]: { needs: 'none', factory: 'runs' },
  [Commands.ShowLivePanel]: { needs: 'none', factory: 'runs' },
  [Commands.OpenLog]: { needs: 'none', factory: 'runs' },
  [Commands.RefreshRuns]: { needs: 'none', factory: 'runs' },
  [Commands.DeleteRun]: { needs: 'none', factory: 'runs' },
  [Commands.RevealRun]: { needs: 'none', factory: 'runs' },
  [Commands.DebugWithAllocator]: { needs: 'launch', factory: 'debug' },
  [Commands.MemorySnapshot]: { needs: 'none', factory: 'debug' },
  [Commands.CompareSnapshots]: { needs: 'none', factory: 'debug' },
  [Commands.ShowDebugMemory]: { needs: 'none', factory: 'debug' },
  [Commands.ProfileAllocationSites]: { needs: 'launch', factory: 'hotspots' },
  [Commands.OpenProfile]: { needs: 'none', factory: 'hotspots' },
  [Commands.DiffProfiles]: { needs: 'none', factory: 'hotspots' },
  [Commands.ClearHotspots]: { needs: 'none', factory: 'hotspots' },
  [Commands.HotspotsRankBy]: { needs: 'none', factory: 'hotspots' },
  [Commands.RevealHotspot]: { needs: 'none', factory: 'hotspots' },
  [Commands.OpenHotspot]: { needs: 'none', factory: 'hotspots' },
  [Commands.ConfigureSourceFileMap]: { needs: 'none', factory: 'hotspots' },
} as const satisfies { readonly [K in Commands]: { needs: CommandNeeds; factory: CommandFactoryName } };

type Table = typeof COMMAND_TABLE;

/** A command's handler, its arguments and result typed by CommandArgs and CommandResults. */
export type CommandHandler<K extends Commands> = (...args: CommandArgs[K]) => CommandResults[K] | Promise<CommandResults[K]>;

/** Every command's handler. */
export type CommandHandlers = { [K in Commands]: CommandHandler<K> };

type CommandsOf<F extends CommandFactoryName> = { [K in Commands]: Table[K]['factory'] extends F ? K : never }[Commands];

/** What one factory builds: exactly the handlers of the commands the table gives it. */
export type FactoryHandlers<F extends CommandFactoryName> = Pick<CommandHandlers, CommandsOf<F>>;

/** Every command id, in table order. */
export const allCommands: readonly Commands[] = Object.keys(COMMAND_TABLE) as Commands[];

/** Commands that start programs: disabled in untrusted workspaces (enablement isWorkspaceTrusted). */
export const launchCommands: readonly Commands[] = allCommands.filter((id) => COMMAND_TABLE[id].needs === 'launch');
