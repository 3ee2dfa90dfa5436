// Shared by every Scout page: the API token (taken once from ?token= and kept in localStorage),
// fetch with the token and JSON errors, and one way to show an error with its hint.
"use strict";

const pageParams = new URLSearchParams(location.search);
if (pageParams.get("token")) localStorage.setItem("scout-token", pageParams.get("token"));

function headers() {
  const token = localStorage.getItem("scout-token");
  return token ? { "X-Scout-Token": token } : {};
}

// <img src> cannot send headers: GET URLs carry the token as ?token= instead.
function withToken(url) {
  const token = localStorage.getItem("scout-token");
  return token ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : url;
}

// JSON in, JSON out; a non-2xx answer throws an Error with the server's {error, hint} and status.
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || `${response.status} ${response.statusText}`);
    error.hint = body.hint; error.status = response.status;
    throw error;
  }
  return body;
}

function describe(error) {
  return error.hint ? `${error.message} ${error.hint}` : error.message;
}
