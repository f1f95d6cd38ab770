// Cameras put credentials into the URIs they hand out (rtsp://user:pass@host/..., or
// ?user=..&pwd=.. in snapshot URIs). Those URIs end up in state, logs and messages: strip them.

const CREDENTIAL_PARAMS = /^(user|username|usr|login|loginuse|pass|password|passwd|pwd|psw|loginpas|auth)$/i;

/**
 * `uri` without userinfo and without query parameters that carry user names or passwords: those
 * with a known name, and any whose value is one of `secrets` (the configured password), whatever
 * the camera maker called the parameter.
 */
export function withoutCredentials(uri: string, secrets: readonly string[] = []): string {
  if (uri === '') return '';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // Not a URL we can take apart: drop anything that looks like userinfo and the secrets, keep the rest.
    return secrets.filter((s) => s !== '').reduce((rest, secret) => rest.split(secret).join('***'), uri.replace(/\/\/[^/@]*@/, '//'));
  }
  url.username = '';
  url.password = '';
  for (const name of [...url.searchParams.keys()]) {
    if (CREDENTIAL_PARAMS.test(name)) url.searchParams.delete(name);
  }
  for (const [name, value] of [...url.searchParams]) {
    if (value !== '' && secrets.includes(value)) url.searchParams.delete(name);
  }
  return url.toString();
}
