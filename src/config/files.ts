// Files a config names (certificates, password files): they must exist and be readable now.
import { accessSync, constants, statSync } from 'node:fs';
import type { ConfigIssue } from '../driver-api.js';

export function checkReadableFile(path: string, key: string, issues: ConfigIssue[]): void {
  try {
    if (!statSync(path).isFile()) return void issues.push({ path: key, message: `${path} is not a file` });
    accessSync(path, constants.R_OK);
  } catch (err) {
    issues.push({ path: key, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
}
