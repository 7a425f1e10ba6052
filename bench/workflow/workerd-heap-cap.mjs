// For workerd-heap-cap.sh: `config` reads Miniflare's binary Cap'n Proto config from stdin and writes
// it with the config's `v8Flags` (pointer 2 of the root `Config` struct, a List(Text)) set to the heap
// ceiling; `path` prints the real workerd's path.
import { createRequire } from 'node:module';

const flag = `--max-old-space-size=${Number(process.env.PARALLAX_HEAP_MB)}`;
const workerd = createRequire(import.meta.url)('workerd').default;

/** The message with `v8Flags = [flag]`, appended to segment 0 (pointers into other segments stay valid). */
function withV8Flag(message) {
  const segments = message.readUInt32LE(0) + 1;
  const header = 4 + 4 * segments + ((segments % 2 === 0) ? 4 : 0);
  const words0 = message.readUInt32LE(4);
  const seg0 = header;
  const word = (i) => seg0 + 8 * i;
  const root = message.readBigUInt64LE(word(0));
  if ((root & 3n) !== 0n) throw new Error('root is not a struct pointer');
  const offset = Number(BigInt.asIntN(30, (root >> 2n) & 0x3fffffffn));
  const dataWords = Number((root >> 32n) & 0xffffn);
  const pointers = Number((root >> 48n) & 0xffffn);
  if (pointers < 3) throw new Error('Config has no v8Flags pointer');
  const slot = 1 + offset + dataWords + 2;
  if (message.readBigUInt64LE(word(slot)) !== 0n) throw new Error('v8Flags is already set');
  const text = Buffer.from(`${flag}\0`, 'utf8');
  const textWords = Math.ceil(text.length / 8);
  const extra = Buffer.alloc(8 * (1 + textWords));
  const listPointer = (at, target, size, count) => BigInt.asUintN(32, BigInt(((target - at - 1) << 2) | 1)) | (BigInt(size) << 32n) | (BigInt(count) << 35n);
  const end = words0;
  extra.writeBigUInt64LE(listPointer(end, end + 1, 2, text.length), 0);
  text.copy(extra, 8);
  const out = Buffer.concat([message.subarray(0, seg0 + 8 * words0), extra, message.subarray(seg0 + 8 * words0)]);
  out.writeUInt32LE(words0 + 1 + textWords, 4);
  out.writeBigUInt64LE(listPointer(slot, end, 6, 1), word(slot));
  return out;
}

if (process.argv[2] === 'path') {
  process.stdout.write(workerd);
} else {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => process.stdout.write(withV8Flag(Buffer.concat(chunks))));
}
