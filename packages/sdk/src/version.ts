/** The SDK's version, sent as `x-coyo-client: coyo-sdk/<version>` (a test keeps it equal to package.json's). */
export const VERSION = '0.1.0';
