// Lint rules that keep the module layout honest (docs/internals.md): a folder under lib/ is a
// module and other code reaches it only through its index.ts; errors carry stable codes
// (lib/errors.ts), so no plain `new Error` in lib/; functions stay short enough to read.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['../*/*', '!../*/index.js', './*/*', '!./*/index.js'],
          message: 'Import another module only through its index.ts (docs/internals.md).',
        }],
      }],
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name='Error']",
        message: 'Throw an error class from lib/errors.ts with a stable code, not a plain Error.',
      }, {
        selector: "TSAsExpression > TSTypeReference.typeAnnotation[typeName.name=/^(Error|Tn3270LbError)$/]",
        message: 'Use errorMessage(err) / errorCode(err) / instanceof from lib/errors.ts instead of casting.',
      }],
      // EBCDIC and telnet text handling matches control characters on purpose.
      'no-control-regex': 'off',
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
)
