// The dashboard's only way to the data: POST /graphql with the bearer token.
//
// Limits the server enforces per document (defaults): 25 organization UUIDs summed over
// every field and 15 aliases. Combined queries therefore go out in chunks of at most
// 25 organizations, and per-organization fields in documents of at most 10 aliases
// (one UUID each); the answers are merged here.

export const MAX_UUIDS_PER_DOCUMENT = 25;
export const ORGS_PER_ALIASED_DOCUMENT = 10;

export class ApiError extends Error {
  constructor(message, { code = null, correlationId = null, status = null, retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.correlationId = correlationId;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The credential is missing, invalid, expired or revoked: sign out. */
export class Unauthorized extends ApiError {
  constructor(message) {
    super(message, { code: "UNAUTHORIZED", status: 401 });
    this.name = "Unauthorized";
  }
}

function fieldError(error) {
  return new ApiError(error.message, {
    code: error.extensions?.code ?? null,
    correlationId: error.extensions?.correlation_id ?? null,
  });
}

/** The answer of one document: data plus field errors by root key. */
export class Answer {
  constructor(data, errors) {
    this.data = data ?? {};
    this.errors = errors ?? [];
  }

  /** The field's error (an ApiError), if its root key failed. */
  error(key) {
    const found = this.errors.find((e) => Array.isArray(e.path) && e.path[0] === key);
    return found ? fieldError(found) : null;
  }

  /** The field's value, or throw its error. */
  get(key) {
    const error = this.error(key);
    if (error) throw error;
    if (this.data[key] === null || this.data[key] === undefined) {
      const first = this.errors[0];
      throw first ? fieldError(first) : new ApiError(`The server sent no ${key}.`);
    }
    return this.data[key];
  }
}

export class GraphQLClient {
  constructor(token, { onWarnings = () => {} } = {}) {
    this.token = token;
    this.onWarnings = onWarnings;
  }

  async request(operationName, query, variables = {}, { signal } = {}) {
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ query, variables, operationName }),
        credentials: "omit",
        cache: "no-store",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("Tallyboard could not be reached. Check your connection, then retry.", {
        code: "NETWORK",
      });
    }
    let payload;
    try {
      payload = await response.json();
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(`The server sent an unexpected answer (HTTP ${response.status}).`, {
        status: response.status,
      });
    }
    const first = payload?.errors?.[0];
    if (response.status === 401) {
      throw new Unauthorized(first?.message ?? "The access token was not accepted.");
    }
    if (!response.ok) {
      throw new ApiError(first?.message ?? `The request failed (HTTP ${response.status}).`, {
        code: first?.extensions?.code ?? null,
        correlationId: first?.extensions?.correlation_id ?? null,
        status: response.status,
        retryAfter: response.headers.get("Retry-After"),
      });
    }
    const warnings = payload.extensions?.warnings;
    if (Array.isArray(warnings) && warnings.length) this.onWarnings(warnings);
    return new Answer(payload.data, payload.errors);
  }
}

export function chunk(items, size) {
  const chunks = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * One field per organization, aliased o0..oN in documents of at most 10 organizations.
 * Returns a Map uuid -> {value, error} (error: an ApiError, e.g. PERMISSION_DENIED).
 */
export async function perOrganization(client, { operationName, field, selection, uuids, period, signal }) {
  const results = new Map();
  const documents = chunk(uuids, ORGS_PER_ALIASED_DOCUMENT).map(async (group) => {
    const declarations = group.map((_, i) => `$o${i}: ID!`).join(", ");
    const fields = group
      .map((_, i) => `o${i}: ${field}(organizationUuid: $o${i}, period: $period) ${selection}`)
      .join("\n  ");
    const query = `query ${operationName}($period: PeriodFilter!, ${declarations}) {\n  ${fields}\n}`;
    const variables = { period };
    group.forEach((uuid, i) => {
      variables[`o${i}`] = uuid;
    });
    const answer = await client.request(operationName, query, variables, { signal });
    group.forEach((uuid, i) => {
      const error = answer.error(`o${i}`);
      results.set(uuid, error ? { value: null, error } : { value: answer.data[`o${i}`], error: null });
    });
  });
  await Promise.all(documents);
  return results;
}

/** A combined query (variable $orgs) in chunks of at most 25 UUIDs; the chunks' answers. */
export async function combinedChunks(client, { operationName, query, field, uuids, period, signal }) {
  const requests = chunk(uuids, MAX_UUIDS_PER_DOCUMENT).map(async (group) => {
    const answer = await client.request(operationName, query, { orgs: group, period }, { signal });
    return answer.get(field);
  });
  return Promise.all(requests);
}

/** Sum of limits the way the combined queries do: null counts as 0; all null is null. */
export function sumLimits(limits) {
  const present = limits.filter((l) => l !== null && l !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : null;
}
