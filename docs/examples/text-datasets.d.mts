export interface Doc {
  id: string;
  text: string;
  label?: string;
}
export function stateOfTheUnion(): Doc[];
export function spamAssassin(): { train: Doc[]; test: Doc[] };
