// ESLint for the whole repository (`npm run lint`; prettier formats, ESLint judges the code).
// TypeScript gets typescript-eslint's type-checked rules through the project service (tsconfig.json);
// the few plain .js/.mjs scripts get ESLint's recommended rules without type information.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The globals Node provides to the plain scripts (TypeScript files get theirs from @types/node).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'WebSocket',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'global',
    'globalThis',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = {
  __dirname: 'readonly',
  __filename: 'readonly',
  exports: 'writable',
  module: 'writable',
  require: 'readonly',
};

export default defineConfig(
  {
    // Build output, bench caches, samples and local state: not source.
    // examples/cdktf-app compiles against the packed construct package (test/package), not this source tree.
    ignores: [
      'dist/**',
      'cdktf.out/**',
      'coverage/**',
      'out/**',
      'samples/**',
      'bench/.cache/**',
      '**/.terraform/**',
      'examples/cdktf-app/**',
    ],
  },
  {
    linterOptions: {
      // A disable comment that no longer silences anything is itself an error: stray ones go.
      reportUnusedDisableDirectives: 'error',
      reportUnusedInlineConfigs: 'error',
    },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Already errors in the preset, named because the project leans on them: every promise is awaited or handed
      // on, none goes where a callback's result is ignored, and `any` only with a disable comment saying why.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // From the strict set, the rules that find real mistakes here (the rest of it is style this code does not use).
      '@typescript-eslint/no-deprecated': [
        'error',
        {
          // fast-xml-parser 5 marks its builder and validator deprecated in favour of packages split off from it
          // (fast-xml-builder, fast-xml-validator) that are not dependencies of this project; both still work.
          allow: [{ from: 'package', package: 'fast-xml-parser', name: ['XMLBuilder', 'XMLValidator'] }],
        },
      ],
      '@typescript-eslint/no-misused-spread': 'error',
      '@typescript-eslint/no-unnecessary-template-expression': 'error',
      '@typescript-eslint/no-unnecessary-type-conversion': 'error',
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
      // `async` without `await` is how an adapter or a test fake meets a Promise-returning contract (a close(),
      // a port's method, a Lambda handler): it turns a throw into a rejection, which is what the caller handles.
      '@typescript-eslint/require-await': 'off',
      // Unused bindings go; a leading underscore marks one that must exist (a callback's position, a rest sibling).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // jest's asymmetric matchers (expect.any, expect.objectContaining, ...) are typed `any` in @types/jest, so every
    // expectation that uses one would need a disable comment. Reading members of, calling or returning an `any`
    // stays an error in tests too.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals, sourceType: 'module' },
    rules: {
      'no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // jest configs, the global setup and the fixture handlers are CommonJS.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonJsGlobals } },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      // Prettier wraps code at 120; what it cannot wrap (comments, long strings) is kept to 120 here, except what
      // cannot be cut without harm: a URL, a regular expression literal (as a string it loses its syntax check),
      // an import of one long module path, and a test's title line (prettier keeps `it('title', async () => {` whole).
      // (max-len is deprecated in ESLint core but kept until v11; @stylistic/max-len is its successor.)
      'max-len': [
        'error',
        {
          code: 120,
          tabWidth: 2,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
          ignorePattern: String.raw`^\s*(?:import\s.*\sfrom\s'[^']+';$|(?:it|test|describe)(?:\.\w+)*\()`,
        },
      ],
    },
  },
);
