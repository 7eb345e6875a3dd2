// The signed-in person: Cognito's JSON protocol (sign-in, the new-password challenge,
// refresh, sign-out) and the tokens, kept in sessionStorage for this tab only.
// The role and tenant shown come from the ID token's payload; the server enforces them.

const STORE = "loyalty.session";
// The functions refuse an ID token older than 15 minutes: refresh well before.
const REFRESH_AFTER_MS = 12 * 60 * 1000;

let config = null;
let refreshTimer = null;
let refreshing = null;

export function configure(cfg) {
  config = cfg;
}

export class AuthError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}

async function cognito(action, body) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError("NetworkError", "The sign-in service cannot be reached. Try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || data.code || "Error").split("#").pop();
    throw new AuthError(type, data.message || `Sign-in failed (${response.status}).`);
  }
  return data;
}

function decodePayload(jwt) {
  const part = jwt.split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE)) || null;
  } catch {
    return null;
  }
}

function save(tokens) {
  sessionStorage.setItem(STORE, JSON.stringify(tokens));
  scheduleRefresh();
}

function forget() {
  sessionStorage.removeItem(STORE);
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

function store(result, previous = {}) {
  const auth = result.AuthenticationResult;
  save({
    idToken: auth.IdToken,
    accessToken: auth.AccessToken,
    refreshToken: auth.RefreshToken || previous.refreshToken,
    obtainedAt: Date.now(),
  });
}

/** The person signed in, or null: `{email, tenant, role}`. */
export function person() {
  const tokens = load();
  if (!tokens) return null;
  try {
    const claims = decodePayload(tokens.idToken);
    const groups = claims["cognito:groups"] || [];
    return { email: claims.email, tenant: claims["custom:tenant"], role: groups[0] || "" };
  } catch {
    return null;
  }
}

/**
 * Signs in with email and password. Answers `{done: true}`, or
 * `{challenge: "NEW_PASSWORD_REQUIRED", answer(newPassword)}` for a temporary password.
 */
export async function signIn(email, password) {
  const result = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (result.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    return {
      challenge: result.ChallengeName,
      async answer(newPassword) {
        const answered = await cognito("RespondToAuthChallenge", {
          ChallengeName: "NEW_PASSWORD_REQUIRED",
          ClientId: config.clientId,
          Session: result.Session,
          ChallengeResponses: { USERNAME: email, NEW_PASSWORD: newPassword },
        });
        store(answered);
        return { done: true };
      },
    };
  }
  if (!result.AuthenticationResult) {
    throw new AuthError("UnsupportedChallenge", `This sign-in needs ${result.ChallengeName}, which the console does not support.`);
  }
  store(result);
  return { done: true };
}

async function refresh() {
  const tokens = load();
  if (!tokens || !tokens.refreshToken) throw new AuthError("NotAuthorizedException", "Signed out.");
  const result = await cognito("InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: config.clientId,
    AuthParameters: { REFRESH_TOKEN: tokens.refreshToken },
  });
  store(result, tokens);
}

function refreshOnce() {
  if (!refreshing) {
    refreshing = refresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const tokens = load();
  if (!tokens) return;
  const due = Math.max(0, tokens.obtainedAt + REFRESH_AFTER_MS - Date.now());
  refreshTimer = setTimeout(() => {
    refreshOnce().catch(() => {
      // The next API call answers 401 and sends the person to sign in.
    });
  }, due);
}

/** The current ID token, refreshed first when it is near its 15 minutes; null when signed out. */
export async function idToken() {
  const tokens = load();
  if (!tokens) return null;
  if (Date.now() - tokens.obtainedAt >= REFRESH_AFTER_MS) {
    try {
      await refreshOnce();
    } catch {
      forget();
      return null;
    }
  }
  return load()?.idToken || null;
}

/** Signs out everywhere (GlobalSignOut with the access token), then forgets the tokens. */
export async function signOut() {
  const tokens = load();
  forget();
  if (!tokens) return;
  try {
    await cognito("GlobalSignOut", { AccessToken: tokens.accessToken });
  } catch {
    // A service without GlobalSignOut (cognito-local): at least revoke the refresh token.
    await cognito("RevokeToken", { Token: tokens.refreshToken, ClientId: config.clientId }).catch(() => {});
  }
}

/** Forgets the tokens without calling the service (the session already ended). */
export function drop() {
  forget();
}

export function resume() {
  if (load()) scheduleRefresh();
}
