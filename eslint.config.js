// Lints every package with typescript-eslint: the recommended rules everywhere, and the type-checked
// strict set (`strictTypeChecked`: floating promises, exhaustive switches, unsafe `any` flows, needless
// conditions and assertions) on the paths listed in STRICT_TYPE_CHECKED.
import tseslint from 'typescript-eslint';

/** Paths held to `strictTypeChecked`. */
const STRICT_TYPE_CHECKED = [
  'packages/coyo-schema/**/*.ts',
  // backend protocol and gpu-backend
  'packages/backend-protocol/**/*.ts',
  'packages/gpu-backend/**/*.ts',

  // coyo reader and ingest
  'packages/coyo-reader/**/*.ts',
  'packages/ingest/**/*.ts',
  'packages/worker/src/routes/coyo/**/*.ts',

  // worker
  'packages/worker/src/*.ts',
  'packages/worker/src/{middleware,schemas}/**/*.ts',
  'packages/worker/src/routes/*.ts',
  'packages/worker/src/routes/{inference,meta}/**/*.ts',
  'packages/worker/src/services/{api-keys,body-pool,bytes,circuit-breaker,claimed-image,classification-cache,classifier,embedding-cache,encoding,image-dimensions,image-intake,image-sniff,inference,model-info,read-capped,scoring,ssrf-guard}*.ts',
  'packages/worker/test/{env.d,expected,fake-embeddings,global-setup,helpers}.ts',

  'packages/worker/assets/**/*.ts', 'packages/worker/scripts/build-assets.ts',
  'packages/worker/scripts/keys*.ts',

  // compat (OpenAI and Hugging Face request shapes)
  'packages/worker/src/routes/compat/**/*.ts',

  // sdk
  'packages/sdk/**/*.ts',

  // OpenAPI document (generator and lint test)
  'packages/worker/scripts/{gen-openapi,openapi-lint.test}.ts',

  // scripts and end-to-end tests
  'scripts/**/*.ts',
  'test/**/*.ts',

];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.wrangler/**', 'packages/sdk/src/generated/**', 'models/**', 'models-bench/**', 'bench-results/**', '.cache/**'],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `interface ProvidedEnv extends Env {}` is how cloudflare:test's env gets its bindings typed.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  ...(STRICT_TYPE_CHECKED.length === 0 ? [] : strict(STRICT_TYPE_CHECKED)),
);

function strict(files) {
  return [
    ...tseslint.configs.strictTypeChecked.map((config) => ({ ...config, files })),
    {
      files,
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
      rules: {
        '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
        // Numbers (bigints too) read naturally in messages; `undefined`, objects and unions of them do not.
        '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      },
    },
  ];
}
