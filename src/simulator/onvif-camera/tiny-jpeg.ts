// A small valid baseline JPEG (ITU-T T.81), built in code so the simulated ONVIF camera has a real picture
// without a binary fixture: one grey component, one flat shade per 8x8 block (DC only), JFIF.

/** Table K.3: the typical luminance DC Huffman table (code lengths, then categories 0..11). */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/** An AC table with the one symbol a DC-only block needs: EOB (0x00), code '0'. */
const AC_BITS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES = [0x00];
/** Every quantiser 8: the inverse DCT of a DC-only block is then DC + 128 on every pixel (F.2.1.3, A.3.3). */
const QUANT = 8;

/** Canonical Huffman codes from code lengths (Annex C, figures C.1 to C.3). */
function huffmanCodes(bits: number[], values: number[]): Map<number, { code: number; length: number }> {
  const codes = new Map<number, { code: number; length: number }>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < bits[length - 1]; i++) codes.set(values[k++], { code: code++, length });
    code <<= 1;
  }
  return codes;
}

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private filled = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.current = (this.current << 1) | ((value >> i) & 1);
      if (++this.filled === 8) this.flushByte();
    }
  }

  private flushByte(): void {
    this.bytes.push(this.current);
    // B.1.1.5: a 0xFF in entropy-coded data is followed by a stuffed 0x00.
    if (this.current === 0xff) this.bytes.push(0x00);
    this.current = 0;
    this.filled = 0;
  }

  /** F.1.2.3: the last byte is padded with 1-bits. */
  finish(): number[] {
    if (this.filled > 0) this.write((1 << (8 - this.filled)) - 1, 8 - this.filled);
    return this.bytes;
  }
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

/** A `blocksWide` x `blocksHigh` grid of 8x8 blocks shading from dark to light. */
export function tinyJpeg(blocksWide = 4, blocksHigh = 3): Buffer {
  const width = blocksWide * 8;
  const height = blocksHigh * 8;
  const dc = huffmanCodes(DC_BITS, DC_VALUES);
  const eob = huffmanCodes(AC_BITS, AC_VALUES).get(0x00)!;
  const bits = new BitWriter();
  let previous = 0;
  const blocks = blocksWide * blocksHigh;
  for (let b = 0; b < blocks; b++) {
    const shade = Math.round(40 + (170 * b) / Math.max(1, blocks - 1));
    const coefficient = shade - 128;
    // F.1.2.1: the DC difference as a size category and its low-order bits (negative: value - 1).
    const diff = coefficient - previous;
    previous = coefficient;
    const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
    const code = dc.get(size)!;
    bits.write(code.code, code.length);
    if (size > 0) bits.write(diff > 0 ? diff : diff + (1 << size) - 1, size);
    bits.write(eob.code, eob.length);
  }
  const bytes = [
    0xff, 0xd8, // SOI
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // APP0 JFIF 1.01
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(QUANT)]), // DQT table 0, 8-bit
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]), // SOF0
    ...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES]), // DHT DC 0
    ...segment(0xc4, [0x10, ...AC_BITS, ...AC_VALUES]), // DHT AC 0
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    ...bits.finish(),
    0xff, 0xd9, // EOI
  ];
  return Buffer.from(bytes);
}
