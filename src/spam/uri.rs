//! URIs found in text and HTML, normalised. (Stub: owned by the rendering helper.)
