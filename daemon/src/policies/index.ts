export { PolicyStore, MAX_STORED_POLICIES, MAX_POLICY_RECORD_BYTES } from './policy-store.ts';
export {
  parsePeerPolicy,
  effectivePolicies,
  type EffectivePolicy,
  type PolicySource,
} from './peer-policy.ts';
