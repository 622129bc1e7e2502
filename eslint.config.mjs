import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/vscode-host/**', 'native/**'] },
  ...tseslint.configs.recommended,
  {
    // The engine must run headless (CLI, language server): it can never see the vscode API.
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts', 'src/server/**/*.ts', 'src/protocol/**/*.ts', 'webview/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/vscode/ may import vscode.' }] }] },
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
