// swagger-ui-dist's ES bundle is Swagger UI with its presets built in; its API is the one
// @types/swagger-ui describes for the `swagger-ui` package.
declare module 'swagger-ui-dist/swagger-ui-es-bundle.js' {
  import SwaggerUI from 'swagger-ui';
  export default SwaggerUI;
}
