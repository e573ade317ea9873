// ESLint (flat config). `npm run lint` runs it with knip (unused files, exports and dependencies)
// and `prettier --check`; .ci/run runs `npm run lint` before the tests.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'bench/results/', '.lab/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // src/ through tsconfig.json, test/ through test/tsconfig.json, vitest.config.ts on its own.
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused bindings are errors; a leading `_` marks one kept on purpose (a positional parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Off: commands, connection methods and test bodies are async for one Promise-returning shape; no-floating-promises
      // and no-misused-promises (on) catch the mistakes that matter.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Off in tests: they parse the JSON the CLI printed and reach into fixtures; their assertions check the shape.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Off in tests: `expect(obj.method)` and spies pass methods around without calling them.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The scripts, the bench and the bin launcher are plain JavaScript run by Node: no types to check.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
