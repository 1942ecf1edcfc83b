// bench/sections.ts: generated sections of bench/results.md survive a rewrite of the timing tables.
import { carrySections, sectionsOf, withSection } from '../../bench/sections';

describe('report sections', () => {
  it('appends a section, then replaces it in place', () => {
    const once = withSection('# Bench\n\ntiming\n', 'scale-model', 'old');
    expect(once).toBe('# Bench\n\ntiming\n\n<!-- section:scale-model -->\nold\n<!-- /section:scale-model -->\n');
    const twice = withSection(`${once}\ntail\n`, 'scale-model', 'new');
    expect(twice).toBe(
      '# Bench\n\ntiming\n\n<!-- section:scale-model -->\nnew\n<!-- /section:scale-model -->\n\ntail\n',
    );
  });

  it("carries the previous report's sections into a freshly rendered one", () => {
    const previous = withSection(withSection('# old timing\n', 'worst-case-memory', 'table'), 'scale-model', 'model');
    const fresh = carrySections(previous, '# new timing\n');
    expect(fresh.startsWith('# new timing\n')).toBe(true);
    expect(sectionsOf(fresh).map((s) => s.id)).toEqual(['worst-case-memory', 'scale-model']);
    expect(fresh).not.toContain('old timing');
  });
});
