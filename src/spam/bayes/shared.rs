//! A model that scanning threads read while a learner replaces it.

use std::sync::{Arc, RwLock};

use super::model::Model;
use super::tokens::{Tokenizer, TokenizerOptions};

/// The model an engine classifies with, swapped without stopping scans:
/// a scan takes the current snapshot (an `Arc`, one short read lock) and
/// keeps it to the end; [`SharedModel::publish`] puts a new one in place
/// for the scans that start after it. Engines built with the same
/// `SharedModel` (through [`crate::EngineBuilder::bayes`]) all see each
/// new snapshot, so learning never needs an engine rebuilt.
///
/// ```
/// use std::sync::Arc;
/// use filter::spam::bayes::{Classifier, Model, SharedModel};
///
/// let shared = SharedModel::new(Model::new(Classifier::Logistic));
/// let mut m = Model::new(Classifier::Logistic);
/// m.learn(&[1, 2, 3], true);
/// shared.publish(Arc::new(m));
/// assert_eq!(shared.current().counts().spam, 1);
/// ```
#[derive(Debug)]
pub struct SharedModel {
    current: RwLock<Arc<Model>>,
    tokenizer: Tokenizer,
}

impl SharedModel {
    /// A shared model starting from `model`, with the default tokenizer.
    pub fn new(model: Model) -> Arc<SharedModel> {
        Arc::new(SharedModel {
            current: RwLock::new(Arc::new(model)),
            tokenizer: Tokenizer::new(TokenizerOptions::default()),
        })
    }

    /// The snapshot scans use from now on.
    pub fn publish(&self, model: Arc<Model>) {
        // A poisoned lock only means a panic elsewhere while holding it;
        // the Arc inside is whole either way.
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        *slot = model;
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Model> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The tokenizer the model was trained with.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}
