/** The bundled default model and its sample images, as URLs Vite serves (dev) or copies (build). */
import modelUrl from '../../models/digits/digits-resnet.onnx?url';
import metadataJson from '../../models/digits/model.json';
import metadataUrl from '../../models/digits/model.json?url';
import sample0 from '../../models/digits/samples/sample-0.png?url';
import sample1 from '../../models/digits/samples/sample-1.png?url';
import sample2 from '../../models/digits/samples/sample-2.png?url';
import sample3 from '../../models/digits/samples/sample-3.png?url';
import sample4 from '../../models/digits/samples/sample-4.png?url';
import sample5 from '../../models/digits/samples/sample-5.png?url';
import softcamUrl from '../../models/softcam/softcam-digits.onnx?url';
import softcamMetadataJson from '../../models/softcam/model.json';
import { parseModelMetadata } from '../engine/model/metadata-parse.js';
import type { ModelMetadata } from '../engine/model/explainer.js';

export const BUNDLED_MODEL_URL = modelUrl;
/** The model.json URL, for consumers that take a URL (e.g. <cam-overlay metadata>). */
export const BUNDLED_METADATA_URL = metadataUrl;
export const BUNDLED_METADATA = parseModelMetadata(metadataJson as Record<string, unknown>);
export const SAMPLE_IMAGES: { name: string; url: string }[] = [sample0, sample1, sample2, sample3, sample4, sample5].map((url, i) => ({
  name: `sample-${i}.png`,
  url,
}));

/** The models the demo offers without a download: the standard classifier and its Soft-CAM twin. */
export const BUNDLED_MODELS: { id: string; label: string; url: string; metadata: ModelMetadata }[] = [
  { id: 'digits', label: 'digits ResNet (bundled default)', url: modelUrl, metadata: BUNDLED_METADATA },
  { id: 'softcam', label: 'digits Soft-CAM (self-explaining)', url: softcamUrl, metadata: parseModelMetadata(softcamMetadataJson as Record<string, unknown>) },
];
