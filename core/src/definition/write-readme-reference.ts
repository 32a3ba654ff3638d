import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { updateReadme } from './reference-markdown.js';

/** `npm run schema` step: rewrites the generated workflow reference inside README.md. */
const readme = fileURLToPath(new URL('../../../../README.md', import.meta.url));
await writeFile(readme, updateReadme(await readFile(readme, 'utf8')));
console.log(`updated the workflow reference in ${readme}`);
