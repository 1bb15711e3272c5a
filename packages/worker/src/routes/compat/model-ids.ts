/**
 * The model ids the compatible APIs accept: the ids the backend serves (`align-base`,
 * `vit-large-patch16-384`) and the Hugging Face Hub ids of the same checkpoints, so client code written
 * for the Hub works by changing only its base URL.
 */
import type { RequestServices } from '../../runtime';
import type { BackendModels } from '../../services/backend-client';
import type { ModelInfoStore } from '../../services/model-info';

/** Which of the served models an id names. */
export type ModelFamily = 'align' | 'vit';

/** Accepted ids, by family; the first of each is the Hub id the README documents. */
export const MODEL_ALIASES: Readonly<Record<ModelFamily, readonly string[]>> = {
  align: ['kakaobrain/align-base', 'align-base'],
  vit: ['google/vit-large-patch16-384', 'kakaobrain/vit-large-patch16-384', 'vit-large-patch16-384'],
};

/** Every accepted id, for error messages. */
export const ACCEPTED_MODEL_IDS: readonly string[] = [...MODEL_ALIASES.align, ...MODEL_ALIASES.vit];

/** The task each served model has in the backend's list. */
const FAMILY_TASK: Readonly<Record<ModelFamily, string>> = { align: 'zero-shot-image-classification', vit: 'image-classification' };

/**
 * The family an id names: one of the aliases, or the id of a model the backend serves (read from
 * `served`, when given, so a renamed deployment keeps working).
 *
 * @example modelFamily('kakaobrain/align-base') // 'align'
 */
export function modelFamily(id: string, served?: BackendModels): ModelFamily | undefined {
  const lower = id.toLowerCase();
  for (const family of ['align', 'vit'] as const) {
    if (MODEL_ALIASES[family].includes(lower)) return family;
  }
  const model = served?.models.find((m) => m.id === id);
  if (model === undefined) return undefined;
  return (['align', 'vit'] as const).find((family) => model.task === FAMILY_TASK[family]);
}

/** The backend's model list, from the isolate's cache, KV (`store`: the `CACHE` binding), or the backend. */
export function servedModels(store: ModelInfoStore, svc: RequestServices, fresh = false): Promise<BackendModels> {
  return svc.modelInfo.get(store, () => svc.backend.models({ requestId: svc.requestId, deadline: svc.deadline }), svc.defer, fresh);
}
