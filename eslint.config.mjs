import tseslint from 'typescript-eslint';

const NO_VSCODE = { name: 'vscode', message: 'Only src/vscode/ may import vscode.' };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/vscode-host/**', 'native/**'] },
  ...tseslint.configs.recommended,
  {
    // The engine must run headless (CLI, language server): it can never see the vscode API.
    files: ['src/cli/**/*.ts', 'src/server/**/*.ts', 'src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [NO_VSCODE] }] },
  },
  {
    // The layers: core is imported by everyone and imports none of them (protocol's shared types live in core/model.ts).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [NO_VSCODE],
        patterns: [{ regex: '^(\\.\\./)+(protocol|server|cli|vscode)(/|$)', message: 'src/core/ imports no other layer: put shared types in src/core/model.ts.' }],
      }],
    },
  },
  {
    // The extension talks to the engine over LSP only: it never imports the language server's code.
    files: ['src/vscode/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+server(/|$)', message: 'src/vscode/ reaches the engine through the language client (protocol/lsp.ts), never by importing src/server/.' }] }] },
  },
  {
    // The webview is browser code: the protocol, the model, units and the pure analysis, nothing with I/O.
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [NO_VSCODE],
        patterns: [{
          regex: '(^|/)src/(?!protocol/|core/model$|core/units$|core/analysis/[^/]+$)',
          message: 'webview/ imports only src/protocol/, src/core/model, src/core/units and the pure src/core/analysis/.',
        }],
      }],
    },
  },
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
  {
    // What the operating system gives (/proc, process groups) is read and signalled in src/core/os/ only.
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    ignores: ['src/core/os/**'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: 'Literal[value=/^\\/proc(\\/|$)/]', message: 'Read /proc through src/core/os/proc.ts.' },
        { selector: 'TemplateLiteral > TemplateElement:first-child[value.raw=/^\\/proc(\\/|$)/]', message: 'Read /proc through src/core/os/proc.ts.' },
        { selector: "CallExpression[callee.object.name='process'][callee.property.name='kill'] > UnaryExpression.arguments[operator='-']", message: 'Signal process groups through src/core/os/groups.ts (signalGroup).' },
      ],
    },
  },
);
