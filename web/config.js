// Where the web app finds the API. `make dev` serves its own generated copy of this file;
// when you deploy the static files, write this one with your API Gateway URL, e.g.
//   export default { apiBaseUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com/api/api/v1" };
export default {
  apiBaseUrl: "http://127.0.0.1:8011/api/v1",
};
