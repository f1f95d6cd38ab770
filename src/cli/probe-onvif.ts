// `gatehouse probe onvif URL`: placeholder until the ONVIF probe lands in the next commit.
export async function probeOnvif(_address: string, _values: Record<string, unknown>): Promise<number> {
  process.stderr.write('gatehouse probe: onvif is not available yet\n');
  return 2;
}
