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
);
