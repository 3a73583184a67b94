//! Dataset-only writes that bypass the Cloud validation rules, for values a site can hold
//! although the API would refuse them (over-long Text carried over from Data Center).

use compact_str::CompactString;

use super::{Workspace, values};
use crate::model::{AttrValues, Val};

impl Workspace {
    /// Sets an object's values of an attribute to the single Text value `text`, with no checks
    /// (length, regex, cardinality) and no history entry. Unknown objects are ignored.
    pub fn force_text_value(&mut self, object_id: u32, attr_id: u32, text: &str) {
        let Some(Some(o)) = self.objects.get_mut(object_id as usize) else {
            return;
        };
        let val = Val::Text(CompactString::from(text));
        let unique = self.attrs.get(&attr_id).is_some_and(|a| a.unique);
        match o.values.iter_mut().find(|v| v.attr_id == attr_id) {
            Some(av) => {
                if unique {
                    for old in av.vals.iter() {
                        self.unique_index
                            .remove(&(attr_id, values::unique_key(old)));
                    }
                }
                av.vals = Box::new([val.clone()]);
            }
            None => {
                self.next.row += 1;
                o.values.push(AttrValues {
                    attr_id,
                    row_id: self.next.row,
                    vals: Box::new([val.clone()]),
                });
            }
        }
        if unique {
            self.unique_index
                .insert((attr_id, values::unique_key(&val)), object_id);
        }
        self.touch();
    }
}
