/**
 * Writes COUNT test images (SIZE x SIZE PNG crops of the bundled model's samples, see
 * test/helpers/job-images.ts) into DIR, for folder-job checks and throughput runs:
 *
 *   npx tsx scripts/write-job-images.ts DIR COUNT [SIZE=224]
 */
import { writeJobImages } from '../test/helpers/job-images';

const [dir, count, size = '224'] = process.argv.slice(2);
if (!dir || !(Number(count) > 0) || !(Number(size) > 0)) {
  console.error('usage: npx tsx scripts/write-job-images.ts DIR COUNT [SIZE=224]');
  process.exit(2);
}
writeJobImages(dir, Number(count), Number(size));
console.log(`${count} images of ${size}x${size} -> ${dir}`);
