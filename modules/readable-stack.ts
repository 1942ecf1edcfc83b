/**
 * A `TerraformStack` whose resource names are readable paths (`chain_ingest_queue`) instead of
 * cdktf's hashed ids, so the synthesized `.tf.json` reads like hand-written Terraform and plain
 * Terraform users can address resources (`terraform state show`, `moved` blocks) by stable names.
 */
import { TerraformElement, TerraformStack } from 'cdktf';
import { Node } from 'constructs';

export class ReadableStack extends TerraformStack {
  protected override allocateLogicalId(element: TerraformElement | Node): string {
    const node = TerraformElement.isTerraformElement(element) ? element.node : element;
    const scopes = node.scopes;
    const components = scopes.slice(scopes.indexOf(this) + 1).map((c) => c.node.id);
    // Leaf ids such as "bucket" or "queue" repeat their parent's meaning; keep them anyway for uniqueness.
    return components
      .join('_')
      .replace(/[^A-Za-z0-9_]+/g, '_')
      .replace(/^([^A-Za-z_])/, '_$1')
      .toLowerCase();
  }
}
