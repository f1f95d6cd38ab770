// Cameras put credentials into the URIs they hand out (rtsp://user:pass@host/..., or
// ?user=..&pwd=.. in snapshot URIs). Those URIs end up in state, logs and messages: strip them.

const CREDENTIAL_PARAMS = /^(user|username|usr|login|pass|password|passwd|pwd|psw|auth)$/i;

/** `uri` without userinfo and without query parameters that carry user names or passwords. */
export function withoutCredentials(uri: string): string {
  if (uri === '') return '';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // Not a URL we can take apart: drop anything that looks like userinfo, keep the rest.
    return uri.replace(/\/\/[^/@]*@/, '//');
  }
  url.username = '';
  url.password = '';
  for (const name of [...url.searchParams.keys()]) {
    if (CREDENTIAL_PARAMS.test(name)) url.searchParams.delete(name);
  }
  return url.toString();
}
